/**
 * Structured JSON logs through Powertools Logger: one JSON object per line, with the
 * service name and level. Never pass request bodies, tokens or headers in here.
 */
import { Logger } from "@aws-lambda-powertools/logger";

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "remirai-api" });

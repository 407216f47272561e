/**
 * API Gateway adapter (REST API payload 1.0 and HTTP API payload 2.0): buffered, so a
 * stream reply is collected whole and returned at its end. Streaming belongs to the
 * Function URL adapter (or node:http under the Lambda Web Adapter).
 */
import type { APIGatewayProxyResult, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { App, ResponseHeaders } from "../http.ts";
import { eventShape, requestFromEvent, splitCookies, type HttpEvent } from "./lambda-event.ts";

const TEXTUAL = /^(text\/|application\/(json|[\w.+-]+\+json|xml|javascript)\b)/i;

export type ApiGatewayResult = APIGatewayProxyResult | APIGatewayProxyStructuredResultV2;

/** @example export const handler = apiGatewayHandler(app); */
export function apiGatewayHandler(app: App): (event: HttpEvent) => Promise<ApiGatewayResult> {
  return async (event) => {
    let status = 500;
    let headers: ResponseHeaders = {};
    const chunks: Buffer[] = [];
    // A buffered invocation has no live client to lose: the signal never aborts.
    await app(requestFromEvent(event, new AbortController().signal), {
      head(s, h) {
        status = s;
        headers = h;
      },
      write(chunk) {
        chunks.push(Buffer.from(chunk));
      },
      end(chunk) {
        if (chunk !== undefined) chunks.push(Buffer.from(chunk));
      },
    });
    const raw = Buffer.concat(chunks);
    const contentType = headers["content-type"];
    const textual = raw.length === 0 || (typeof contentType === "string" && TEXTUAL.test(contentType));
    const body = raw.toString(textual ? "utf8" : "base64");
    const split = splitCookies(headers);
    if (eventShape(event) === "v2") {
      return { statusCode: status, headers: split.headers, cookies: split.cookies, body, isBase64Encoded: !textual };
    }
    return {
      statusCode: status,
      headers: split.headers,
      multiValueHeaders: split.cookies.length ? { "set-cookie": split.cookies } : {},
      body,
      isBase64Encoded: !textual,
    };
  };
}

/**
 * Native Lambda Function URL streaming adapter (`InvokeMode: RESPONSE_STREAM`), for running
 * without the Lambda Web Adapter. Status and headers travel as the metadata prelude of
 * `awslambda.HttpResponseStream.from`; the body streams after it.
 *
 * The runtime writes that prelude only on the first `write()`: a response that ends without
 * one never sends its status and the invocation hangs (the known 204/302 problem). So the
 * head is always followed by an (empty) write, which flushes the prelude at once.
 */
import type { Context } from "aws-lambda";
import type { Writable } from "node:stream";
import type { App } from "../http.ts";
import { whenWritable } from "./backpressure.ts";
import { requestFromEvent, splitCookies, type HttpEvent } from "./lambda-event.ts";

/** The part of the Lambda Node.js runtime's `awslambda` global this adapter uses. */
export interface StreamingRuntime {
  streamifyResponse(handler: (event: HttpEvent, responseStream: Writable, context: Context) => Promise<void>): unknown;
  HttpResponseStream: {
    from(stream: Writable, metadata: { statusCode: number; headers: Record<string, string>; cookies: string[] }): Writable;
  };
}

/** @example export const handler = functionUrlHandler(app, awslambda); */
export function functionUrlHandler(app: App, runtime: StreamingRuntime): unknown {
  return runtime.streamifyResponse(async (event, responseStream) => {
    const controller = new AbortController();
    let finished = false;
    // The runtime's stream errors or closes early when the client goes away.
    const gone = () => {
      if (!finished) controller.abort();
    };
    responseStream.once("error", gone).once("close", gone);
    let body: Writable | undefined;
    await app(requestFromEvent(event, controller.signal), {
      head(statusCode, headers) {
        const split = splitCookies(headers);
        body = runtime.HttpResponseStream.from(responseStream, { statusCode, headers: split.headers, cookies: split.cookies });
        body.write("");
      },
      write(chunk) {
        if (body && !body.destroyed && !body.write(chunk)) return whenWritable(body);
      },
      end(chunk) {
        finished = true;
        const stream = body;
        if (!stream || stream.destroyed) return;
        return new Promise<void>((resolve) => {
          stream.once("close", resolve);
          stream.end(chunk, resolve);
        });
      },
    });
  });
}

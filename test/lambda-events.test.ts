/**
 * The Lambda HTTP event shapes as AWS documents them, through the buffered API Gateway
 * adapter. The examples are AWS's own (API Gateway developer guide, "Working with AWS Lambda
 * proxy integrations for HTTP APIs" — payload 2.0 and 1.0; Lambda developer guide, "Invoking
 * Lambda function URLs" — request payload), with only the path, method and stage changed to
 * reach our routes. What differs between them, and what the adapter must undo:
 *
 *   source                  path field          named stage in it   percent-encoding
 *   Function URL (2.0)      rawPath             never ($default)    kept
 *   HTTP API (2.0)          rawPath             yes: /<stage>/…     already decoded
 *   HTTP API (1.0)          path                yes: /<stage>/…     already decoded
 *   REST API (1.0)          path                no                  kept
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { apiGatewayHandler } from "../backend/api/adapters/api-gateway.ts";
import { behaviourApp } from "./support/behaviour-app.ts";

const handler = apiGatewayHandler(behaviourApp().app) as (event: unknown) => Promise<{ statusCode: number; body: string }>;

/** AWS's documented HTTP API payload 2.0 example, on the named stage `prod`. */
function httpApiV2(rawPath: string, stage = "prod") {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString: "parameter1=value1&parameter1=value2&parameter2=value",
    cookies: ["cookie1", "cookie2"],
    headers: { Header1: "value1", Header2: "value1,value2" },
    queryStringParameters: { parameter1: "value1,value2", parameter2: "value" },
    requestContext: {
      accountId: "123456789012",
      apiId: "api-id",
      domainName: "id.execute-api.us-east-1.amazonaws.com",
      domainPrefix: "id",
      http: { method: "GET", path: rawPath, protocol: "HTTP/1.1", sourceIp: "192.0.2.1", userAgent: "agent" },
      requestId: "id",
      routeKey: "$default",
      stage,
      time: "12/Mar/2020:19:03:58 +0000",
      timeEpoch: 1583348638390,
    },
    pathParameters: { parameter1: "value1" },
    isBase64Encoded: false,
    stageVariables: { stageVariable1: "value1", stageVariable2: "value2" },
  };
}

/** AWS's documented HTTP API payload 1.0 example, on the named stage `prod`. */
function httpApiV1(path: string, stage = "prod") {
  return {
    version: "1.0",
    resource: path,
    path,
    httpMethod: "GET",
    headers: { Header1: "value1", Header2: "value2" },
    multiValueHeaders: { Header1: ["value1"], Header2: ["value1", "value2"] },
    queryStringParameters: { parameter1: "value1", parameter2: "value" },
    multiValueQueryStringParameters: { parameter1: ["value1", "value2"], parameter2: ["value"] },
    requestContext: {
      accountId: "123456789012",
      apiId: "id",
      authorizer: { claims: null, scopes: null },
      domainName: "id.execute-api.us-east-1.amazonaws.com",
      domainPrefix: "id",
      extendedRequestId: "request-id",
      httpMethod: "GET",
      identity: { sourceIp: "192.0.2.1", userAgent: "user-agent" },
      path,
      protocol: "HTTP/1.1",
      requestId: "id=",
      requestTime: "04/Mar/2020:19:15:17 +0000",
      requestTimeEpoch: 1583349317135,
      resourceId: null,
      resourcePath: path,
      stage,
    },
    pathParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
  };
}

/** AWS's documented Function URL request payload (2.0, always `$default`, path kept encoded). */
function functionUrl(rawPath: string) {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString: "parameter1=value1&parameter1=value2&parameter2=value",
    cookies: ["cookie1", "cookie2"],
    headers: { header1: "value1", header2: "value1,value2" },
    queryStringParameters: { parameter1: "value1,value2", parameter2: "value" },
    requestContext: {
      accountId: "123456789012",
      apiId: "<urlid>",
      authentication: null,
      authorizer: {
        iam: {
          accessKey: "AKIA...",
          accountId: "111122223333",
          callerId: "AIDA...",
          cognitoIdentity: null,
          principalOrgId: null,
          userArn: "arn:aws:iam::111122223333:user/example-user",
          userId: "AIDA...",
        },
      },
      domainName: "<url-id>.lambda-url.us-west-2.on.aws",
      domainPrefix: "<url-id>",
      http: { method: "GET", path: rawPath, protocol: "HTTP/1.1", sourceIp: "123.123.123.123", userAgent: "agent" },
      requestId: "id",
      routeKey: "$default",
      stage: "$default",
      time: "12/Mar/2020:19:03:58 +0000",
      timeEpoch: 1583348638390,
    },
    isBase64Encoded: false,
  };
}

const idOf = (result: { body: string }) => (JSON.parse(result.body) as { id: string }).id;

describe("HTTP API (payload 2.0) on a named stage", () => {
  test("the stage is not part of the route: /prod/v1/things/7 is /v1/things/7", async () => {
    const result = await handler(httpApiV2("/prod/v1/things/7"));
    assert.equal(result.statusCode, 200);
    assert.equal(idOf(result), "7");
  });

  test("the /api prefix still works after the stage", async () => {
    const result = await handler(httpApiV2("/prod/api/v1/things/7"));
    assert.equal(result.statusCode, 200);
    assert.equal(idOf(result), "7");
  });

  test("a path already decoded by API Gateway is not decoded again (%25 stays a %)", async () => {
    // The client asked for /prod/v1/things/50%25%20off; API Gateway sends it decoded.
    const result = await handler(httpApiV2("/prod/v1/things/50% off"));
    assert.equal(result.statusCode, 200);
    assert.equal(idOf(result), "50% off");
  });

  test("decoded non-ASCII text arrives intact", async () => {
    const result = await handler(httpApiV2("/prod/v1/things/café"));
    assert.equal(idOf(result), "café");
  });

  test("only a whole first segment equal to the stage is removed", async () => {
    const result = await handler(httpApiV2("/production/v1/things/7"));
    assert.equal(result.statusCode, 404);
  });

  test("the $default stage removes nothing", async () => {
    const result = await handler(httpApiV2("/v1/things/7", "$default"));
    assert.equal(result.statusCode, 200);
  });
});

describe("HTTP API (payload 1.0) on a named stage", () => {
  test("the stage is removed and the decoded path is not decoded again", async () => {
    assert.equal((await handler(httpApiV1("/prod/v1/things/7"))).statusCode, 200);
    const result = await handler(httpApiV1("/prod/v1/things/50% off"));
    assert.equal(result.statusCode, 200);
    assert.equal(idOf(result), "50% off");
  });
});

describe("Function URL and REST API events keep their encoded paths", () => {
  test("a Function URL's %25 is decoded once", async () => {
    const result = await handler(functionUrl("/v1/things/50%25%20off"));
    assert.equal(idOf(result), "50% off");
  });

  test("a Function URL never strips a first segment", async () => {
    assert.equal((await handler(functionUrl("/prod/v1/things/7"))).statusCode, 404);
  });

  test("a REST API (1.0, no version field) path is taken as encoded", async () => {
    const { version: _version, ...rest } = httpApiV1("/v1/things/50%25%20off");
    const result = await handler(rest);
    assert.equal(idOf(result), "50% off");
  });
});

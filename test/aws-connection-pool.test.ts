/**
 * Many users at once in one process (`./run.sh` serves everyone from one API process): more
 * DynamoDB requests in flight than the AWS SDK's default 50 sockets. The SDK's connection
 * timeout runs from the moment a request is made, so a request waiting for a free socket
 * used to fail as "could not connect" (503) though DynamoDB was fine. A local server in
 * DynamoDB's wire format answers nothing until every request is in flight at once: it
 * answers only if the client let them all have a socket.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { createApi } from "../backend/api/index.ts";
import { loadConfig } from "../backend/config.ts";
import { quiet } from "./support/saga.ts";
import { nodeTarget, type Target } from "./support/targets.ts";

/** Users reading a survey at the same moment: more than the SDK's default pool of 50. */
const USERS = 120;

let dynamodb: Server;
let target: Target;
const held: ServerResponse[] = [];
let released = false;

const answer = (res: ServerResponse) => {
  res.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
  res.end("{}");
};

before(async () => {
  dynamodb = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume().on("end", () => {
      if (released) return answer(res);
      held.push(res);
      if (held.length < USERS) return;
      released = true;
      for (const waiting of held.splice(0)) answer(waiting);
    });
  });
  await new Promise<void>((resolve) => dynamodb.listen(0, "127.0.0.1", resolve));
  // Before this process makes its first DynamoDB client: clients read the endpoint when made.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = `http://127.0.0.1:${(dynamodb.address() as AddressInfo).port}`;
  target = await nodeTarget(createApi(loadConfig({ ...process.env, AUTH_MODE: "local" }), { logger: quiet }));
});

after(async () => {
  await target.close();
  dynamodb.closeAllConnections();
  await new Promise((resolve) => dynamodb.close(resolve));
});

test(`${USERS} users at once all get their answer, not a 503 for a request that waited for a socket`, async () => {
  // Act: every user reads a survey that does not exist (one GetItem each), all at once.
  const responses = await Promise.all(Array.from({ length: USERS }, () => target.request("/v1/surveys/AAAAAAAAAAAAAAAAAAAAAA")));

  // Assess: the server saw them all in flight together, and each user got the survey's 404.
  assert.equal(released, true, "all requests reached DynamoDB at once");
  const statuses = new Map<number, number>();
  for (const res of responses) statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  assert.deepEqual([...statuses], [[404, USERS]]);
});

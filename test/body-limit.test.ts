/**
 * The body limit (40,000 bytes: what CloudFront lets the edge hash) never refuses a request
 * the API's own rules accept: the largest valid friend's answer and chat message fit, even
 * written with the costliest characters JSON has (6 bytes each, `\u0001`).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../backend/config.ts";
import {
  ADJECTIVES,
  FriendAnswerInput,
  MAX_ADJECTIVES,
  RATING_ITEMS,
  RATING_MAX,
  TEXT_MAX_LENGTH,
  TEXT_PROMPTS,
} from "../backend/surveys/questions.ts";

const config = loadConfig({});
const costly = (chars: number) => "\u0001".repeat(chars);

test("the largest valid friend's answer fits the body limit", () => {
  // Prepare: the longest adjectives, every rating, every text and the fingerprint at their maximum
  const longest = [...ADJECTIVES].sort((a, b) => b.length - a.length).slice(0, MAX_ADJECTIVES);
  const answer = {
    question_set: "v1",
    fingerprint: costly(256),
    answers: {
      adjectives: longest,
      ratings: Object.fromEntries(RATING_ITEMS.map((item) => [item.id, RATING_MAX])),
      texts: Object.fromEntries(TEXT_PROMPTS.map((p) => [p.id, costly(TEXT_MAX_LENGTH)])),
    },
  };
  // Act
  const bytes = Buffer.byteLength(JSON.stringify(answer));
  // Assess
  assert.ok(FriendAnswerInput.safeParse(answer).success, "the answer is valid");
  assert.ok(bytes <= config.bodyLimitBytes, `${bytes} bytes`);
});

test("a chat message of the longest allowed length fits the body limit", () => {
  const bytes = Buffer.byteLength(JSON.stringify({ text: costly(config.chatMessageMaxChars) }));
  assert.equal(config.chatMessageMaxChars, 4000);
  assert.ok(bytes <= config.bodyLimitBytes, `${bytes} bytes`);
});

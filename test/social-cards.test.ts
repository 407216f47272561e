/**
 * Cards shown to strangers are plain text, whatever got stored: the output-time clean-up
 * (defence in depth behind the writer's schema) and the card builders over a persona whose
 * stored card text is full of markup.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cardOf, charaCardOf, hasMarkup, plainText } from "../backend/social/cards.ts";
import type { ReadyPersona } from "../backend/personas/model.ts";

describe("plain text", () => {
  test("markdown images and HTML go, links keep only their text, URLs and invisible characters go", () => {
    const cases: [string, string][] = [
      ["Hi ![pixel](https://tracker.example/p.png) there", "Hi there"],
      ["See [my page](https://evil.example) now", "See my page now"],
      ["[![x](https://a.example/i.png)](https://b.example)done", "done"],
      ["<script>alert(1)</script>Kind <b>and</b> warm", "alert(1)Kind and warm"],
      ["<img src=x onerror=alert(1)", "img src=x onerror=alert(1)"],
      ["<scr<script>ipt>x", "x"],
      ["Visit www.example.com or https://x.example/a?b=c today", "Visit or today"],
      ["Click javascript:alert(1) or data:text/html,hi", "Click or"],
      ["[ref]: https://example.com\nKind", "Kind"],
      ["abc\u202edcba\u200b!", "abcdcba!"],
      ["I <3 tea, *really*", "I <3 tea, *really*"],
      ["Line one\r\n\r\n\r\n\r\nLine two  ", "Line one\n\nLine two"],
    ];
    for (const [input, expected] of cases) assert.equal(plainText(input), expected, JSON.stringify(input));
  });

  test("hasMarkup tells markup from harmless punctuation", () => {
    for (const text of ["![a](b)", "[a](http://b)", "<i>x</i>", "go to https://x.example", "x\u202ey"])
      assert.equal(hasMarkup(text), true, text);
    for (const text of ["Kind, warm & witty", "I <3 tea", "Five * stars", "a < b > c", "Line\nbreak"])
      assert.equal(hasMarkup(text), false, text);
  });
});

const dirty = (s: string) => `${s} ![p](https://t.example/p.png) <a href="https://x.example">click</a> www.spam.example`;

const persona: ReadyPersona = {
  uid: "owner-1",
  personaId: "pid_0123456789ab",
  status: "ready",
  sagaId: "saga-1",
  version: 2,
  surveyId: "survey-1",
  eventSeq: 6,
  sagaStartSeq: 4,
  redrives: 0,
  updatedAt: "2025-01-02T03:04:05.000Z",
  public: true,
  publicPortrait: { key: "public/portraits/p1/xyz.PNG", of: "private/portraits/p1/abc.PNG" },
  current: {
    card: {
      name: dirty("Aki"),
      tagline: dirty("Quietly brave"),
      personality: dirty("Calm under pressure."),
      speaking_style: dirty("Short sentences."),
      greeting: dirty("Hey."),
      interests: [dirty("tea"), "![only](https://x.example/i.png)"],
      visual_description: dirty("Green scarf."),
    },
    systemPrompt: dirty("You are Aki."),
    traits: { extraversion: 3.5, agreeableness: 5.25, conscientiousness: 4, emotional_stability: 6, openness: 2.75 },
    arena: ["calm", "kind"],
    answerCount: 4,
    writer: "gemini:gemini-2.5-flash",
    version: 2,
    illustrationKey: "private/portraits/p1/abc.PNG",
    illustrator: "gemini:gemini-2.5-flash-image",
    readyAt: "2025-01-02T03:04:05.000Z",
  },
};

/** Every string in `value`, with its path. */
function strings(value: unknown, path = ""): [string, string][] {
  if (typeof value === "string") return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${path}[${i}]`));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => strings(v, `${path}.${k}`));
  return [];
}

describe("cards made plain at output", () => {
  test("the public card keeps the words and drops the markup", () => {
    const card = cardOf(persona, "https://cdn.example/media/");
    assert.equal(card.name, "Aki click");
    assert.equal(card.tagline, "Quietly brave click");
    assert.equal(card.illustration_url, "https://cdn.example/media/public/portraits/p1/xyz.PNG");
    for (const [path, text] of strings(card)) if (path !== ".illustration_url") assert.equal(hasMarkup(text), false, path);
  });

  test("the Character Card V3 export: plain text everywhere but the icon's URL; empty interests dropped", () => {
    const exported = charaCardOf(persona, "https://cdn.example/media");
    for (const [path, text] of strings(exported))
      if (path !== ".data.assets[0].uri") assert.equal(hasMarkup(text), false, `${path}: ${text}`);
    assert.doesNotMatch(exported.data.system_prompt, /t\.example|x\.example/);
    assert.match(exported.data.description, /Interests: tea click\n/);
    assert.deepEqual(exported.data.assets, [
      { type: "icon", uri: "https://cdn.example/media/public/portraits/p1/xyz.PNG", name: "main", ext: "png" },
    ]);
    assert.equal(exported.data.modification_date, Date.parse("2025-01-02T03:04:05.000Z") / 1000);
    assert.match(exported.data.personality, /openness 2\.8/);
  });
});

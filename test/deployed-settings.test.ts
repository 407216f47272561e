/**
 * No deployed function reads a setting that neither its template `Environment` nor the app
 * secret provides. What a function reads comes from its real bundle (esbuild's metafile of
 * `scripts/build.ts`); what it needs from `REQUIRED_IN_AWS` in backend/config.ts. Mutated
 * copies of the template prove the check catches each kind of mistake.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { REQUIRED_IN_AWS } from "../backend/config.ts";
import { APP_SECRET_KEYS } from "../backend/ports/app-secret.ts";
import { BUNDLES, build } from "../scripts/build.ts";
import { ROOT, parseTemplate, type Template } from "./support/sam-template.ts";
import { SECRET_PROVIDES, unprovidedSettings } from "./support/settings-check.ts";

const template = parseTemplate("infrastructure/template.yaml");
let outDir: string;
const modules = new Map<string, string[]>();
const modulesOf = (bundle: string) => {
  const found = modules.get(bundle);
  assert.ok(found, `no bundle ${bundle} was built`);
  return found;
};
/** A copy of the template changed by `edit`. */
const mutated = (edit: (t: Template) => void): Template => {
  const copy = structuredClone(template);
  edit(copy);
  return copy;
};

before(async () => {
  outDir = await mkdtemp(join(tmpdir(), "remirai-settings-"));
  for (const bundle of await build({ outDir, bundles: BUNDLES.filter((b) => b.name !== "edge-auth") }))
    modules.set(bundle.name, bundle.modules);
});
after(() => rm(outDir, { recursive: true, force: true }));

describe("settings of the deployed functions", () => {
  test("every function of the template is given every required setting its bundle reads", () => {
    assert.deepEqual(unprovidedSettings(template, modulesOf), []);
  });

  test("the secret provides exactly the keys the loader requires", () => {
    assert.deepEqual(SECRET_PROVIDES.toSorted(), ["FINGERPRINT_SECRET", "JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY"]);
  });

  test("every module the registry names exists and is deployed in some function", () => {
    const deployed = new Set([...modules.values()].flat());
    for (const [setting, readers] of Object.entries(REQUIRED_IN_AWS)) {
      for (const module of readers) assert.ok(existsSync(join(ROOT, module)), `${setting}: ${module} does not exist`);
      assert.ok(
        readers.some((module) => deployed.has(module)),
        `${setting}: no deployed bundle holds ${readers.join(", ")}`,
      );
    }
  });
});

describe("README and docs/deploy.md", () => {
  /** The settings named on the doc's list item that starts with `**label**`. */
  const listed = (doc: string, label: string): string[] => {
    const line = readFileSync(join(ROOT, doc), "utf8")
      .split("\n")
      .find((l) => l.startsWith(`- **${label}**`));
    assert.ok(line, `${doc} has no "${label}" list`);
    return [...line.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!).sort();
  };
  const own = (id: string) => Object.keys(template.Resources[id].Properties.Environment?.Variables ?? {}).sort();

  for (const doc of ["README.md", "docs/deploy.md"]) {
    test(`${doc} says exactly which settings come from the secret and which from the template`, () => {
      assert.deepEqual(listed(doc, "From the secret"), APP_SECRET_KEYS.toSorted());
      assert.deepEqual(
        listed(doc, "From the template, every function"),
        Object.keys(template.Globals.Function.Environment.Variables).sort(),
      );
      assert.deepEqual(listed(doc, "From the template, the API only"), own("ApiFunction"));
      for (const worker of ["SynthesisFunction", "ImageFunction", "SweeperFunction"])
        assert.deepEqual(listed(doc, "From the template, each worker"), own(worker));
    });
  }
});

describe("the check catches", () => {
  test("a queue URL removed from the template: every function that composes the domains (all of them) is short of it", () => {
    // Prepare
    const broken = mutated((t) => delete t.Globals.Function.Environment.Variables.SYNTHESIS_QUEUE_URL);

    // Act
    const missing = unprovidedSettings(broken, modulesOf);

    // Assess
    assert.deepEqual(
      missing,
      ["ApiFunction", "SynthesisFunction", "ImageFunction", "SweeperFunction", "LifecycleFunction"].map(
        (f) => `${f}: SYNTHESIS_QUEUE_URL (needed by backend/compose.ts)`,
      ),
    );
  });

  test("the secret's ARN removed: the secret's keys no longer reach the API", () => {
    // Prepare
    const broken = mutated((t) => delete t.Globals.Function.Environment.Variables.APP_SECRET_ARN);

    // Act
    const missing = unprovidedSettings(broken, modulesOf);

    // Assess
    assert.deepEqual(
      missing.filter((m) => m.startsWith("ApiFunction")),
      [
        "ApiFunction: APP_SECRET_ARN (needed by backend/ports/secrets.ts)",
        "ApiFunction: JWT_PRIVATE_KEY (needed by backend/identity/tokens.ts)",
        "ApiFunction: JWT_PUBLIC_KEY (needed by backend/identity/tokens.ts)",
        "ApiFunction: FINGERPRINT_SECRET (needed by backend/data/pseudonym.ts)",
      ],
    );
    for (const worker of ["SynthesisFunction", "ImageFunction", "SweeperFunction", "LifecycleFunction"]) {
      assert.ok(missing.includes(`${worker}: APP_SECRET_ARN (needed by backend/ports/secrets.ts)`));
    }
  });

  test("a required setting added to config that the template does not give", () => {
    // Prepare
    const required = { ...REQUIRED_IN_AWS, SURVEY_WEBHOOK_URL: ["backend/config.ts"] };

    // Act
    const missing = unprovidedSettings(template, modulesOf, required);

    // Assess
    assert.deepEqual(
      missing,
      ["ApiFunction", "SynthesisFunction", "ImageFunction", "SweeperFunction", "LifecycleFunction"].map(
        (id) => `${id}: SURVEY_WEBHOOK_URL (needed by backend/config.ts)`,
      ),
    );
  });
});

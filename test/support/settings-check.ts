/**
 * Does every deployed function get every setting its code cannot do without? For each
 * function of a template: the required settings (backend/config.ts `REQUIRED_IN_AWS`) whose
 * modules are in the function's bundle (esbuild's metafile), less what its `Environment`
 * (Globals merged) gives, less what the app secret gives when the function names one.
 */
import assert from "node:assert/strict";
import { REQUIRED_IN_AWS } from "../../backend/config.ts";
import { AppSecret } from "../../backend/ports/app-secret.ts";
import type { Template } from "./sam-template.ts";
import { fn, ofType } from "./template-checks.ts";

/** The keys the loader refuses to start without: a function that started has them. */
export const SECRET_PROVIDES = Object.entries(AppSecret.shape)
  .filter(([, schema]) => !schema.safeParse(undefined).success)
  .map(([key]) => key);

/** The bundle a function deploys: its `CodeUri`, `../dist/<bundle>`. */
export function bundleOf(t: Template, functionId: string): string {
  const codeUri = String(fn(t, functionId).CodeUri);
  const bundle = /^\.\.\/dist\/([a-z-]+)$/.exec(codeUri)?.[1];
  assert.ok(bundle, `${functionId}: CodeUri ${codeUri} is not one of our bundles`);
  return bundle;
}

/**
 * Lines `Function: SETTING (needed by module)`, one per setting a function is not given.
 * @example assert.deepEqual(unprovidedSettings(template, (b) => built[b].modules), []);
 */
export function unprovidedSettings(
  t: Template,
  modulesOf: (bundle: string) => readonly string[],
  required: Readonly<Record<string, readonly string[]>> = REQUIRED_IN_AWS,
): string[] {
  const missing: string[] = [];
  for (const [id] of ofType(t, "AWS::Serverless::Function")) {
    const modules = new Set(modulesOf(bundleOf(t, id)));
    const variables = Object.keys(fn(t, id).Environment.Variables);
    const provided = new Set([...variables, ...(variables.includes("APP_SECRET_ARN") ? SECRET_PROVIDES : [])]);
    for (const [setting, readers] of Object.entries(required)) {
      const reader = readers.find((module) => modules.has(module));
      if (reader !== undefined && !provided.has(setting)) missing.push(`${id}: ${setting} (needed by ${reader})`);
    }
  }
  return missing;
}

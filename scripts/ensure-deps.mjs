// Installs the locked dependencies when they are missing or older than the lockfile, so
// `npm test` and `./run.sh` work on a fresh clone with no other step. Plain JS on purpose:
// it runs before the project's own Node 24 (the `node` dev dependency) is installed.
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const stamp = "node_modules/.package-lock.json";
const fresh = existsSync("node_modules/.bin/node") && existsSync(stamp) && statSync(stamp).mtimeMs >= statSync("package-lock.json").mtimeMs;

if (!fresh) {
  console.error("[deps] installing locked dependencies (npm ci)…");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { stdio: "inherit" });
}

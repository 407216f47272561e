#!/usr/bin/env bash
# Runs the whole backend on this machine: DynamoDB Local and fauxqs (SQS + S3) as child
# processes, the table, queues and bucket, then the web client and the API on one origin,
# http://localhost:$PORT/ (default 8080; the API under /api).
# Ctrl-C stops everything. See docs/local-stack.md.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v java >/dev/null 2>&1; then
  echo "run.sh: DynamoDB Local needs Java 17 or newer on PATH (e.g. apt-get install openjdk-17-jre-headless)." >&2
  exit 1
fi

# Any Node works here; it installs the project's own Node 24 (the `node` dev dependency).
node scripts/ensure-deps.mjs

# The web client (web/ → dist/web), rebuilt only when its sources changed: one esbuild call.
node_modules/.bin/node --import tsx scripts/build-web.ts --if-stale

# exec: Ctrl-C and SIGTERM reach the stack process itself, and no shell is left behind.
exec node_modules/.bin/node --import tsx backend/local/stack.ts

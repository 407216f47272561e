// Section 5's probe: a fresh node process that imports one bundle (or nothing, for the empty
// baseline) and reports, over IPC, when its own code started and how long the import took.
// Plain JavaScript, run without any loader, so nothing but the bundle is measured.
const startedAt = performance.now(); // ms since this process's time origin
const file = process.argv[2];
if (file) await import(file);
process.send({ type: "loaded", startedAt, importMs: performance.now() - startedAt, readyAt: performance.now() }, () => process.exit(0));

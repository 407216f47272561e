// Section 5's probe: a fresh node process that imports one bundle (or nothing, for the empty
// baseline) and reports, over IPC, when its own code started, how long the import took and
// the CPU time the process had used by then (user + system; steadier than wall time on a
// shared machine). Plain JavaScript, run without any loader, so nothing but the bundle is measured.
const startedAt = performance.now(); // ms since this process's time origin
const file = process.argv[2];
if (file) await import(file);
const cpu = process.cpuUsage();
process.send(
  { type: "loaded", startedAt, importMs: performance.now() - startedAt, readyAt: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000 },
  () => process.exit(0),
);

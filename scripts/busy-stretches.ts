/**
 * The event loop's long busy stretches in a V8 `.cpuprofile`, by the code they ran
 * (bench/lib/cpuprofile.ts `busyStretches`): where a latency tail comes from. Bench section 8
 * does the same for the chat stream; by hand:
 *
 *   RUNS=1 TURNS=3 node --cpu-prof --cpu-prof-interval 100 --cpu-prof-dir .data/latency-profile \
 *     --import tsx scripts/chat-latency.ts
 *   node --import tsx scripts/busy-stretches.ts .data/latency-profile/<file>.cpuprofile [minMs=1.5]
 */
import { busyStretches } from "../bench/lib/cpuprofile.ts";

const [file, min = "1.5"] = process.argv.slice(2);
if (!file) throw new Error("usage: busy-stretches.ts <file.cpuprofile> [minMs]");
const found = await busyStretches(file, Number(min), 20);
console.log(`${found.stretches} busy stretches; ${found.long} of at least ${min} ms outside start-up, by the code they involve:`);
for (const { code, count } of found.byCode) console.log(`  ${String(count).padStart(5)}  ${code}`);
console.log("self time inside those stretches:");
for (const { frame, share } of found.topSelf) console.log(`  ${(share * 100).toFixed(1).padStart(5)}%  ${frame}`);

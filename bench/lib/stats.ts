/** Small numeric helpers shared by the sections: percentiles and how figures are printed. */

/** Nearest-rank percentile of an ascending array (`p` in 0–100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export const ascending = (values: number[]) => values.sort((a, b) => a - b);

/** `1,234` / `12.3` / `0.123`: a figure with sensible precision. */
export function num(value: number | undefined, digits?: number): string {
  if (value === undefined || !Number.isFinite(value)) return "n/a";
  const d = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3);
  return value.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** `0.97×` */
export function ratio(value: number | undefined, base: number | undefined): string {
  if (value === undefined || base === undefined || !Number.isFinite(value) || !Number.isFinite(base) || base === 0) return "n/a";
  return `${(value / base).toFixed(2)}×`;
}

/** `12.3 KiB` */
export function bytes(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "n/a";
  if (Math.abs(value) >= 1024 * 1024) return `${(value / 1024 / 1024).toFixed(2)} MiB`;
  if (Math.abs(value) >= 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${Math.round(value)} B`;
}

/** A markdown table. */
export function table(header: string[], rows: (string | number)[][], align?: ("l" | "r")[]): string {
  const sep = header.map((_, i) => ((align?.[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : "---"));
  return [header, sep, ...rows.map((r) => r.map(String))].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

/** Milliseconds on a clock comparable across processes of this machine (sub-ms precision). */
export const clock = () => performance.timeOrigin + performance.now();

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * "met (0.97× ≥ 0.95×)" or "missed by 8% (0.87× < 0.95×)": a target of the form
 * `value ≥ goal` (or `≤` with `atMost`).
 */
export function verdict(value: number | undefined, goal: number, opts: { atMost?: boolean; unit?: string } = {}): string {
  if (value === undefined || !Number.isFinite(value)) return "not measured";
  const unit = opts.unit ?? "×";
  const shown = (v: number) => `${unit === "×" ? v.toFixed(2) : num(v)}${unit}`;
  const met = opts.atMost ? value <= goal : value >= goal;
  if (met) return `met (${shown(value)} ${opts.atMost ? "≤" : "≥"} ${shown(goal)})`;
  const by = opts.atMost ? (value - goal) / goal : (goal - value) / goal;
  return `**missed** by ${(by * 100).toFixed(0)}% (${shown(value)} ${opts.atMost ? ">" : "<"} ${shown(goal)})`;
}

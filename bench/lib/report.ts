/** What each section hands back to bench/run.ts, which prints it and writes docs/benchmarks.md. */

export interface SummaryRow {
  section: string;
  metric: string;
  value: string;
  /** The ratio that matters for the target (to node:http, to raw, to idle, to an empty process…). */
  ratio: string;
  target: string;
  verdict: string;
}

export interface SectionResult {
  title: string;
  /** Markdown for docs/benchmarks.md (tables, notes, profile summaries). */
  body: string;
  summary: SummaryRow[];
  /** The exact command lines used, as a reader would type them. */
  commands: string[];
  /** For each target missed: by how much, and what the profile shows is the cost. */
  misses?: string[];
  seconds?: number;
}

/** A section that failed still gets its place in the report, with the reason. */
export function failedSection(title: string, error: unknown): SectionResult {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return {
    title,
    body: `The section did not complete:\n\n\`\`\`\n${message.slice(0, 3000)}\n\`\`\``,
    summary: [{ section: title, metric: "(did not complete)", value: "n/a", ratio: "n/a", target: "", verdict: "error" }],
    commands: [],
  };
}

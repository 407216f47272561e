/**
 * The persona's status words, in one place: what each means and which are which.
 *
 *   pending ──> synthesizing ──> generating_image ──> ready
 *                   └───────────────┴─────────────> failed
 */
export type PersonaStatus = "pending" | "synthesizing" | "generating_image" | "ready" | "failed";
export type SagaStep = "synthesis" | "image";

/** The status a saga has while its step is being done. */
export const STEP_STATUS: Readonly<Record<SagaStep, PersonaStatus>> = { synthesis: "synthesizing", image: "generating_image" };

/** A saga is running: a step is in flight (it has a deadline and sits in the sweeper's index). */
export const isRunning = (status: PersonaStatus): boolean => status === "synthesizing" || status === "generating_image";

/** A saga has ended, for better or worse: a new one may start. */
export const isSettled = (status: PersonaStatus): boolean => status === "ready" || status === "failed";

/** The step a running saga is at. */
export function stepAt(status: PersonaStatus): SagaStep | undefined {
  return status === "synthesizing" ? "synthesis" : status === "generating_image" ? "image" : undefined;
}

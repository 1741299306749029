/**
 * Settings the drift function and the drift worker share, in a module of their own so the worker loads neither the
 * drift function nor its engine.
 */

/**
 * Stacks checked at once by the scheduled run. Detection takes seconds per stack while the calls are few (about two
 * per stack), so the run is bounded by CloudFormation's request rate, not by this: twenty at a time keeps the rate
 * busy without waiting, and the throttling that follows is absorbed with backoff (bench/drift.ts measures both).
 * Fewer seconds per run is also what the drift function is billed for.
 */
export const DRIFT_CONCURRENCY = 20;

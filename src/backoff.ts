/** Capped exponential backoff: baseMs for the first attempt, doubling each time, never above maxMs. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * The one way tests wait: poll `probe` (every 20 ms, real time) until it returns something truthy, and resolve
 * with that. After `timeoutMs` it fails with `what()`, which should say what was awaited and what there is.
 */
export async function until<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  what: () => string = () => 'condition',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`${what()}: not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

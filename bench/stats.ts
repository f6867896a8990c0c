/** Percentiles of a set of samples, rounded to `decimals` places (one for milliseconds, more for finer units). */
export function stats(samples: number[], decimals = 1) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  const scale = 10 ** decimals;
  const r = (x: number) => Math.round(x * scale) / scale;
  return { n: s.length, p50: r(at(0.5)), p95: r(at(0.95)), min: r(s[0]), max: r(s.at(-1)!) };
}

/** `x` rounded to `places` decimal places. */
export const round = (x: number, places = 1) => Math.round(x * 10 ** places) / 10 ** places;

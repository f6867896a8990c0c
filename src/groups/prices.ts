// What a model call costs in money: list prices per model family, in US dollars per million tokens, as
// Anthropic publishes them (cache writes at the 5-minute rate, 1.25× input; cache reads 0.1× input).
import type { TokenUsage } from '../store/store.js';

export interface ModelPrice {
  /** Model ids that start with this (dated ids like "claude-sonnet-4-5-20250929" included). */
  prefix: string;
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
}

const family = (prefix: string, input: number, output: number): ModelPrice => ({
  prefix,
  input,
  output,
  cacheWrite: input * 1.25,
  cacheRead: input * 0.1,
});

/** Longest prefixes first, so "claude-opus-4-5" wins over "claude-opus-4". */
export const PRICES: readonly ModelPrice[] = [
  family('claude-opus-4-5', 5, 25),
  family('claude-opus-4-1', 15, 75),
  family('claude-opus-4', 15, 75),
  family('claude-3-opus', 15, 75),
  family('claude-sonnet-4-5', 3, 15),
  family('claude-sonnet-4', 3, 15),
  family('claude-3-7-sonnet', 3, 15),
  family('claude-3-5-sonnet', 3, 15),
  family('claude-haiku-4-5', 1, 5),
  family('claude-3-5-haiku', 0.8, 4),
  family('claude-3-haiku', 0.25, 1.25),
].sort((a, b) => b.prefix.length - a.prefix.length);

/** A model the table does not know is priced as the dearest one: a budget errs on the side of stopping. */
export const UNKNOWN_MODEL_PRICE: ModelPrice = { ...family('unknown', 15, 75), prefix: '' };

export function priceOf(model: string | null | undefined): ModelPrice {
  const id = (model ?? '').toLowerCase();
  return PRICES.find((p) => id.startsWith(p.prefix)) ?? UNKNOWN_MODEL_PRICE;
}

/** Dollars for `usage` on `model`. */
export function costOf(usage: TokenUsage, model: string | null | undefined): number {
  const p = priceOf(model);
  const micro =
    usage.inputTokens * p.input +
    usage.outputTokens * p.output +
    usage.cacheCreationInputTokens * p.cacheWrite +
    usage.cacheReadInputTokens * p.cacheRead;
  return micro / 1_000_000;
}

/** The most a call may cost before it goes out: its estimated input and its whole output cap. */
export const estimateCost = (model: string | undefined, inputTokens: number, maxOutputTokens: number): number =>
  costOf({ inputTokens, outputTokens: maxOutputTokens, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 }, model);

/** "$1.23" (and "$0.0042" for amounts under a cent, so small spend is not shown as nothing). */
export function formatUsd(usd: number): string {
  if (usd !== 0 && Math.abs(usd) < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}

// A group's daily budgets (its own and the install's total, in tokens and in money), kept even while calls run
// in parallel: each model call reserves what it may cost before it goes out and settles to what it really cost
// when it ends, so calls in flight count too and a team of agents cannot overshoot together.
// Tokens: a call must fit in what is left. Money: calls go out until spend (with calls in flight) reaches 100 %
// — a hard stop that lets one call's worth through rather than stopping at half the budget on a large output cap.
import type { Logger } from 'pino';
import { formatTime } from '../time.js';
import type { CallAdmission } from '../boundary/model-proxy.js';
import type { Store } from '../store/store.js';
import { formatUsd } from './prices.js';
import { limitsToday, plus, spendSince, today, ZERO, type Amount, type Limits, type Scope } from './spend.js';

export type Verdict = { ok: true } | { ok: false; message: string };

export interface BudgetState {
  /** Tokens: today's limit (undefined: unlimited), used, reserved by calls in flight. */
  limit?: number;
  used: number;
  reserved: number;
  /** Money, the same way. */
  usd: { limit?: number; used: number; reserved: number };
  /** When today's budget window ends. */
  resetsAt: number;
}

export interface BudgetDeps {
  store: Store;
  log: Logger;
  timeZone: string;
  /** After a call's usage is recorded: where warnings are raised. */
  settled?: (groupId: number) => void;
}

const n = (x: number) => x.toLocaleString('en-US');
const hasLimit = (l: Limits) => l.usd !== undefined || l.tokens !== undefined;

export class Budget {
  /** What each scope's calls in flight reserved. */
  private readonly reserved = new Map<Scope, Amount>();
  /** The size of each group's last reservation: what the next call will probably ask for. */
  private readonly lastAsk = new Map<number, Amount>();

  constructor(private readonly deps: BudgetDeps) {}

  state(groupId: number, now = Date.now()): BudgetState {
    const day = today(now, this.deps.timeZone);
    const limits = limitsToday(this.deps.store, groupId, day.day);
    const used = spendSince(this.deps.store, day.start, groupId);
    const reserved = this.reserved.get(groupId) ?? ZERO;
    return {
      limit: limits.tokens,
      used: used.tokens,
      reserved: reserved.tokens,
      usd: { limit: limits.usd, used: used.usd, reserved: reserved.usd },
      resetsAt: day.resetsAt,
    };
  }

  /** Would a call like the group's last one fit now? (Asked before starting a sandbox.) */
  admit(groupId: number): Verdict {
    const verdict = this.check(groupId, () => this.lastAsk.get(groupId) ?? ZERO);
    return verdict.ok ? { ok: true } : verdict;
  }

  /**
   * Reserve what one call of `runId` may cost, or refuse when it would not fit in what is left today. `askFor`
   * (a parse of the whole request) is read before the call only when a limit applies; with no budget nothing is
   * held back (a budget set meanwhile counts the call once it settles) and the call's size is read when it
   * ends, off its path, as the expectation `admit` checks later runs against.
   */
  reserve(groupId: number, runId: string, askFor: () => Amount): CallAdmission {
    const verdict = this.check(groupId, askFor);
    if (!verdict.ok) return verdict;
    const ask = verdict.asked ?? ZERO;
    // Only an admitted call sets the expectation: a refused giant (a huge PDF) must not bar every later run.
    if (verdict.asked) this.lastAsk.set(groupId, ask);
    this.move(groupId, ask, 1);
    let open = true;
    const close = () => {
      const was = open;
      if (open) this.move(groupId, ask, -1);
      if (open && !verdict.asked) this.lastAsk.set(groupId, askFor());
      open = false;
      return was;
    };
    return {
      ok: true,
      ticket: {
        settle: (usage) => {
          if (!close()) return;
          this.deps.store.recordUsage({ ...usage, groupId, runId });
          this.deps.log.debug({ groupId, run: runId, reserved: ask, ...usage }, 'model usage');
          this.deps.settled?.(groupId);
        },
        release: () => void close(),
      },
    };
  }

  private move(groupId: number, ask: Amount, sign: 1 | -1): void {
    for (const scope of [groupId, 'total'] as const) {
      const left = plus(this.reserved.get(scope) ?? ZERO, { usd: sign * ask.usd, tokens: sign * ask.tokens });
      if (left.tokens > 0 || left.usd > 1e-12) this.reserved.set(scope, left);
      else this.reserved.delete(scope);
    }
  }

  /** Whether a call asking `askFor()` fits; with what it asked, when a limit made it ask. */
  private check(groupId: number, askFor: () => Amount): { ok: true; asked?: Amount } | { ok: false; message: string } {
    const day = today(Date.now(), this.deps.timeZone);
    let asked: Amount | undefined;
    for (const scope of [groupId, 'total'] as const) {
      const limits = limitsToday(this.deps.store, scope, day.day);
      if (!hasLimit(limits)) continue; // no budget: no usage query per call
      asked ??= askFor();
      const committed = plus(spendSince(this.deps.store, day.start, scope === 'total' ? undefined : scope), this.reserved.get(scope) ?? ZERO);
      const refusal = refusalFor(scope, limits, committed, asked);
      if (refusal) return { ok: false, message: `${refusal}, so I can't answer until ${formatTime(day.resetsAt, this.deps.timeZone)}. The owner can raise the budget.` };
    }
    return { ok: true, asked };
  }
}

/** Why a call asking `ask` does not fit a scope's limits with `committed` already spent or in flight. */
function refusalFor(scope: Scope, limits: Limits, committed: Amount, ask: Amount): string | undefined {
  const whose = scope === 'total' ? 'The assistant has used its total daily' : 'This chat has used its daily';
  if (limits.usd !== undefined && committed.usd >= limits.usd) {
    return `${whose} spending budget (${formatUsd(committed.usd)} of ${formatUsd(limits.usd)})`;
  }
  const limit = limits.tokens;
  if (limit === undefined || (committed.tokens < limit && committed.tokens + ask.tokens <= limit)) return undefined;
  if (committed.tokens >= limit) return `${whose} model budget (${n(committed.tokens)} of ${n(limit)} tokens)`;
  const nearly = scope === 'total' ? 'The assistant has nearly used its total daily' : 'This chat has nearly used its daily';
  return `${nearly} model budget (${n(committed.tokens)} of ${n(limit)} tokens, and the next model call could take up to ${n(ask.tokens)})`;
}

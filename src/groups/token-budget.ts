// A group's daily token budget, kept even while calls run in parallel: each model call reserves what it may
// cost before it goes out and settles to what it really cost when it ends, so calls in flight count against the
// budget too and a team of agents cannot overshoot it together.
import type { Logger } from 'pino';
import { formatTime, nextStartOfDay, startOfDay } from '../time.js';
import type { CallAdmission } from '../boundary/model-proxy.js';
import { totalTokens, type Store } from '../store/store.js';

export interface BudgetState {
  limit?: number;
  used: number;
  /** When today's budget window ends. */
  resetsAt: number;
}

/** Today's usage of a group against its limit (if any), in `timeZone`'s days. */
export function budgetState(store: Store, groupId: number, limit: number | undefined, timeZone: string, now = Date.now()): BudgetState {
  const used = totalTokens(store.groupUsageSince(groupId, startOfDay(now, timeZone)));
  return { limit, used, resetsAt: nextStartOfDay(now, timeZone) };
}

export type Verdict = { ok: true } | { ok: false; message: string };


export interface TokenBudgetDeps {
  store: Store;
  log: Logger;
  timeZone: string;
  /** The group's current daily limit (read fresh, so a change applies at once); undefined: unlimited. */
  limitOf: (groupId: number) => number | undefined;
}

export class TokenBudget {
  /** Tokens reserved by each group's calls in flight. */
  private readonly reserved = new Map<number, number>();
  /** The size of each group's last reservation: what the next call will probably ask for. */
  private readonly lastAsk = new Map<number, number>();

  constructor(private readonly deps: TokenBudgetDeps) {}

  state(groupId: number, now = Date.now()): BudgetState & { reserved: number } {
    const state = budgetState(this.deps.store, groupId, this.deps.limitOf(groupId), this.deps.timeZone, now);
    return { ...state, reserved: this.reserved.get(groupId) ?? 0 };
  }

  /** Would a call like the group's last one fit now? (Asked before starting a sandbox.) */
  admit(groupId: number): Verdict {
    return this.check(groupId, this.lastAsk.get(groupId) ?? 0);
  }

  /** Reserve `tokens` for one call of `runId`, or refuse when they would not fit in what is left today. */
  reserve(groupId: number, runId: string, tokens: number): CallAdmission {
    const verdict = this.check(groupId, tokens);
    if (!verdict.ok) return verdict;
    // Only an admitted call sets the expectation: a refused giant (a huge PDF) must not bar every later run.
    this.lastAsk.set(groupId, tokens);
    this.move(groupId, tokens);
    let open = true;
    const close = () => {
      const was = open;
      if (open) this.move(groupId, -tokens);
      open = false;
      return was;
    };
    return {
      ok: true,
      ticket: {
        settle: (usage) => {
          if (!close()) return;
          this.deps.store.recordUsage({ ...usage, groupId, runId });
          this.deps.log.debug({ groupId, run: runId, reserved: tokens, ...usage }, 'model usage');
        },
        release: () => void close(),
      },
    };
  }

  private move(groupId: number, tokens: number): void {
    const left = (this.reserved.get(groupId) ?? 0) + tokens;
    if (left > 0) this.reserved.set(groupId, left);
    else this.reserved.delete(groupId);
  }

  private check(groupId: number, tokens: number): Verdict {
    if (this.deps.limitOf(groupId) === undefined) return { ok: true }; // no budget: no usage query per call
    const { limit, used, reserved, resetsAt } = this.state(groupId);
    const committed = used + reserved;
    if (limit === undefined || (committed < limit && committed + tokens <= limit)) return { ok: true };
    const n = (x: number) => x.toLocaleString('en-US');
    const until = `so I can't answer until ${formatTime(resetsAt, this.deps.timeZone)}. The owner can raise the budget.`;
    if (committed >= limit) return { ok: false, message: `This chat has used its daily model budget (${n(committed)} of ${n(limit)} tokens), ${until}` };
    return {
      ok: false,
      message:
        `This chat has nearly used its daily model budget (${n(committed)} of ${n(limit)} tokens, and the next model ` +
        `call could take up to ${n(tokens)}), ${until}`,
    };
  }
}

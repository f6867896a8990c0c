// Per-group security decisions the host makes for a run: which web destinations, which extra mounts, and
// whether another model call fits in today's token budget. Everything is read fresh from the store, so a change
// made from the main chat applies to live runs at once.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { formatTime, startOfDay } from '../time.js';
import type { Mount } from '../sandbox/runtime.js';
import { totalTokens, type Group, type Store, type TokenUsage } from '../store/store.js';
import { parseAllowlist, type DomainRule } from '../boundary/egress-policy.js';
import { readSecurityConfig, type SecurityConfig } from './group-config.js';
import { loadMountAllowlist, resolveExtraMounts } from '../boundary/mount-allowlist.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface BudgetState {
  limit?: number;
  used: number;
  /** When today's budget window ends. */
  resetsAt: number;
}

/** Today's usage of a group against its limit (if any), in `timeZone`'s days. */
export function budgetState(store: Store, groupId: number, limit: number | undefined, timeZone: string, now = Date.now()): BudgetState {
  const start = startOfDay(now, timeZone);
  const resetsAt = startOfDay(start + DAY_MS + 3 * 60 * 60 * 1000, timeZone); // +3 h: past any DST shift
  return { limit, used: totalTokens(store.groupUsageSince(groupId, start)), resetsAt };
}

export type Verdict = { ok: true } | { ok: false; message: string };

export interface GroupPolicyDeps {
  store: Store;
  config: Config;
  log: Logger;
  /** Paths no extra mount may overlap (data dir, socket dir…); the allowlist file is always added. */
  protectedPaths: string[];
  /** The project directory: read-only at most. */
  projectDir: string;
}

export class GroupPolicy {
  private readonly defaultRules: DomainRule[];

  constructor(private readonly deps: GroupPolicyDeps) {
    this.defaultRules = parseAllowlist(deps.config.egress.defaultAllow);
  }

  /** The group's security config; a malformed one is logged and replaced by one that fails closed. */
  security(group: Group): SecurityConfig {
    const { config, problem } = readSecurityConfig(group.containerConfig);
    if (problem) this.deps.log.error({ group: group.folder, problem }, 'invalid container_config: no extra mounts, no web access');
    return config;
  }

  egressRules(groupId: number): DomainRule[] {
    const group = this.deps.store.groupById(groupId);
    if (!group) return [];
    const allow = this.security(group).egress?.allow;
    return allow ? parseAllowlist(allow) : this.defaultRules;
  }

  budget(groupId: number, now = Date.now()): BudgetState {
    const group = this.deps.store.groupById(groupId);
    const limit = group ? this.security(group).dailyTokenBudget : undefined;
    return budgetState(this.deps.store, groupId, limit, this.deps.config.timeZone, now);
  }

  /** May this group make another model call now? */
  admit(groupId: number): Verdict {
    const { limit, used, resetsAt } = this.budget(groupId);
    if (limit === undefined || used < limit) return { ok: true };
    const n = (x: number) => x.toLocaleString('en-US');
    return {
      ok: false,
      message:
        `This chat has used its daily model budget (${n(used)} of ${n(limit)} tokens), so I can't answer until ` +
        `${formatTime(resetsAt, this.deps.config.timeZone)}. The owner can raise the budget.`,
    };
  }

  recordUsage(groupId: number, runId: string, usage: TokenUsage & { model?: string }): void {
    this.deps.store.recordUsage({ ...usage, groupId, runId });
    this.deps.log.debug({ groupId, run: runId, ...usage }, 'model usage');
  }

  /** The group's extra mounts that the allowlist permits; every refusal and downgrade is logged. */
  extraMounts(group: Group): Mount[] {
    const requests = this.security(group).additionalMounts ?? [];
    if (requests.length === 0) return [];
    const { config, log } = this.deps;
    const { allowlist, error } = loadMountAllowlist(config.mountAllowlistPath, config.homeDir);
    const decision = resolveExtraMounts(requests, {
      isMain: group.isMain,
      allowlist,
      allowlistError: error,
      home: config.homeDir,
      protectedPaths: [...this.deps.protectedPaths, config.mountAllowlistPath],
      readOnlyPaths: [this.deps.projectDir],
    });
    for (const r of decision.rejected) log.warn({ group: group.folder, hostPath: r.request.hostPath, reason: r.reason }, 'extra mount rejected');
    for (const r of decision.downgraded) log.warn({ group: group.folder, hostPath: r.request.hostPath, reason: r.reason }, 'extra mount forced read-only');
    for (const m of decision.mounts) log.info({ group: group.folder, host: m.host, sandbox: m.sandbox, readonly: m.readonly }, 'extra mount granted');
    return decision.mounts;
  }
}

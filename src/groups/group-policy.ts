// Per-group security decisions the host makes for a run: which web destinations, which extra mounts, and
// whether another model call fits in today's budgets (tokens and money, the group's and the install's total).
// Everything is read fresh from the store, so a change made from the main chat applies to live runs at once.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Mount } from '../sandbox/runtime.js';
import type { Group, Store } from '../store/store.js';
import { parseAllowlist, type DomainRule } from '../boundary/egress-policy.js';
import { readContainerConfig, type ContainerConfig, type MountRequest } from './group-config.js';
import { loadMountAllowlist, resolveExtraMounts, type MountDecision } from '../boundary/mount-allowlist.js';
import type { CallAdmission, CallEstimate } from '../boundary/model-proxy.js';
import { Budget, type BudgetState, type Verdict } from './budget.js';
import { estimateCost } from './prices.js';
import { SecretVault, vaultDir, type Secret } from '../boundary/secret-vault.js';
import { dueAlerts, type SpendAlert } from './spend-alerts.js';

export interface GroupPolicyDeps {
  store: Store;
  config: Config;
  log: Logger;
  /** Paths no extra mount may overlap (data dir, socket dir…); the allowlist file is always added. */
  protectedPaths: string[];
  /** The project directory: read-only at most. */
  projectDir: string;
  /** A budget reached 80 % or 100 % today (each said once): tell the owner. */
  alert?: (alert: SpendAlert) => void;
}

export class GroupPolicy {
  private readonly defaultRules: DomainRule[];
  private readonly budgets: Budget;
  /** The config problem last logged per group, so a bad config is reported once, not on every request. */
  private readonly reported = new Map<number, string>();
  private vault: SecretVault | undefined;

  constructor(private readonly deps: GroupPolicyDeps) {
    this.defaultRules = parseAllowlist(deps.config.egress.defaultAllow);
    this.budgets = new Budget({
      store: deps.store,
      log: deps.log,
      timeZone: deps.config.timeZone,
      settled: (groupId) => {
        if (deps.alert) for (const alert of dueAlerts(deps.store, groupId, deps.config.timeZone)) deps.alert(alert);
      },
    });
  }

  /** The group's config; each invalid setting is replaced by its fallback and logged once. */
  security(group: Group): ContainerConfig {
    const { config, problems } = readContainerConfig(group.containerConfig);
    const problem = problems.join('; ');
    if (problem && this.reported.get(group.id) !== problem) {
      this.reported.set(group.id, problem);
      this.deps.log.warn(
        { group: group.folder, problem },
        'invalid container_config: the invalid settings fall back (no extra mounts, no web access, default limits, no budget); the valid ones apply',
      );
    }
    return config;
  }

  /** The vault's secrets granted to the group, opened (for its egress proxy only); read fresh, so a revoke applies at once. */
  grantedSecrets(groupId: number): Secret[] {
    this.vault ??= new SecretVault(this.deps.store.db, vaultDir(this.deps.config.dataDir));
    return this.vault.granted(groupId);
  }

  egressRules(groupId: number): DomainRule[] {
    const group = this.deps.store.groupById(groupId);
    if (!group) return [];
    const allow = this.security(group).egress?.allow;
    return allow ? parseAllowlist(allow) : this.defaultRules;
  }

  budget(groupId: number, now = Date.now()): BudgetState {
    return this.budgets.state(groupId, now);
  }

  /** May this group start another run now (would a call like its last one fit in today's budget)? */
  admit(groupId: number): Verdict {
    return this.budgets.admit(groupId);
  }

  /**
   * Reserve the most one model call may cost before it goes out (priced for its model when known, else at the
   * dearest rate); the ticket settles it to the metered usage.
   */
  reserve(groupId: number, runId: string, estimate: () => CallEstimate): CallAdmission {
    return this.budgets.reserve(groupId, runId, () => {
      const call = estimate();
      return { tokens: call.tokens, usd: estimateCost(call.model, call.inputTokens, call.maxTokens) };
    });
  }

  /** The group's extra mounts that the allowlist permits; every refusal and downgrade is logged. */
  extraMounts(group: Group): Mount[] {
    const requests = this.security(group).additionalMounts ?? [];
    if (requests.length === 0) return [];
    const { log } = this.deps;
    const decision = this.mountDecision(group.isMain, requests);
    for (const r of decision.rejected) log.warn({ group: group.folder, hostPath: r.request.hostPath, reason: r.reason }, 'extra mount rejected');
    for (const r of decision.downgraded) log.warn({ group: group.folder, hostPath: r.request.hostPath, reason: r.reason }, 'extra mount forced read-only');
    for (const m of decision.mounts) log.info({ group: group.folder, host: m.host, sandbox: m.sandbox, readonly: m.readonly }, 'extra mount granted');
    return decision.mounts;
  }

  /** Why each of `requests` would be refused (or only granted read-only) for the group: checked before a change is saved. */
  mountRefusals(group: Group, requests: MountRequest[]): string[] {
    if (requests.length === 0) return [];
    const { rejected, downgraded } = this.mountDecision(group.isMain, requests);
    return [
      ...rejected.map((r) => `${r.request.hostPath}: ${r.reason}`),
      ...downgraded.map((r) => `${r.request.hostPath}: ${r.reason} (ask for readonly: true)`),
    ];
  }

  /** What the mount allowlist makes of these requests. */
  mountDecision(isMain: boolean, requests: readonly MountRequest[]): MountDecision {
    const { config } = this.deps;
    const { allowlist, error } = loadMountAllowlist(config.mountAllowlistPath, config.homeDir);
    return resolveExtraMounts(requests, {
      isMain,
      allowlist,
      allowlistError: error,
      home: config.homeDir,
      protectedPaths: [...this.deps.protectedPaths, config.mountAllowlistPath],
      readOnlyPaths: [this.deps.projectDir],
    });
  }
}

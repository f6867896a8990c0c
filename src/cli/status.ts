// `carapace status`: groups, token usage, runs and pending deliveries, read from the store (works while stopped).
import type { Config } from '../config.js';
import { dataPaths } from '../fs/paths.js';
import { backendInUse, type BackendInUse } from '../sandbox/backend-record.js';
import { readContainerConfig } from '../groups/group-config.js';
import { budgetState } from '../groups/token-budget.js';
import type { RunRow, Store, UsageTotals } from '../store/store.js';

export interface GroupStatus {
  name: string;
  chatId: string;
  folder: string;
  isMain: boolean;
  /** null: the group answers every message. */
  trigger: string | null;
  pendingMessages: number;
  tokensToday: number;
  /** null: no daily budget. */
  dailyTokenBudget: number | null;
}

export interface StatusReport {
  groups: GroupStatus[];
  runsInProgress: number;
  recentRuns: (Pick<RunRow, 'id' | 'groupId' | 'status' | 'startedAt' | 'endedAt' | 'error'> & { usage: UsageTotals })[];
  pendingDeliveries: number;
  /** The sandbox backend of the running (or last started) Carapace. */
  backend: BackendInUse | null;
}

export function statusReport(store: Store, config: Config): StatusReport {
  const groups = store.listGroups().map((g): GroupStatus => {
    const { used, limit } = budgetState(store, g.id, readContainerConfig(g.containerConfig).config.dailyTokenBudget, config.timeZone);
    return {
      name: g.name,
      chatId: g.chatId,
      folder: g.folder,
      isMain: g.isMain,
      trigger: g.requiresTrigger ? g.trigger : null,
      pendingMessages: store.messagesAfter(g.chatId, g.cursor).length,
      tokensToday: used,
      dailyTokenBudget: limit ?? null,
    };
  });
  const recentRuns = store.recentRuns(10).map((r) => ({
    id: r.id,
    groupId: r.groupId,
    status: r.status,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    error: r.error,
    usage: store.runUsage(r.id),
  }));
  const backend = backendInUse(dataPaths(config.dataDir).sandboxState);
  return { groups, runsInProgress: store.runningRuns().length, recentRuns, pendingDeliveries: store.pendingOutbox().length, backend };
}

const n = (x: number) => x.toLocaleString('en-US');
const time = (ms: number | null) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-');
const tokens = (u: UsageTotals) => `${n(u.inputTokens + u.cacheCreationInputTokens + u.cacheReadInputTokens)} in / ${n(u.outputTokens)} out`;

export function renderStatus(report: StatusReport): string {
  const lines = ['Groups:'];
  for (const g of report.groups) {
    lines.push(`  ${g.isMain ? '*' : ' '} ${g.name} (${g.chatId}) folder=${g.folder} trigger=${g.trigger ?? 'none'} pending=${g.pendingMessages}`);
    const budget = g.dailyTokenBudget === null ? ' (no daily budget)' : ` of ${n(g.dailyTokenBudget)} daily budget`;
    lines.push(`      tokens today: ${n(g.tokensToday)}${budget}`);
  }
  lines.push(`Runs in progress: ${report.runsInProgress}`, 'Recent runs:');
  for (const r of report.recentRuns) {
    const took = r.endedAt ? `${((r.endedAt - r.startedAt) / 1000).toFixed(1)} s` : 'running';
    const spent = r.usage.calls ? ` ${r.usage.calls} model calls, ${tokens(r.usage)} tokens` : '';
    lines.push(`  ${time(r.startedAt)} ${r.id} group=${r.groupId} ${r.status} (${took})${spent}${r.error ? ` error: ${r.error}` : ''}`);
  }
  lines.push(`Replies waiting for delivery: ${report.pendingDeliveries}`);
  lines.push(`Sandbox backend: ${report.backend ? `${report.backend.kind} (since ${time(Date.parse(report.backend.since))})` : 'none yet (Carapace has not started)'}`);
  return lines.join('\n');
}

// `carapace status`: groups, spend (money and tokens, today and this month), runs and pending deliveries, read
// from the store (works while stopped).
import type { Config } from '../config.js';
import { formatUsd } from '../groups/prices.js';
import { spendReport, type Amount, type Limits } from '../groups/spend.js';
import { dataPaths } from '../fs/paths.js';
import { folderBytesSync, mb } from '../fs/disk-use.js';
import { diskQuotaBytes } from '../groups/container-config.js';
import { backendInUse, type BackendInUse } from '../sandbox/backend-record.js';
import type { RunRow, Store, UsageTotals } from '../store/store.js';

export interface GroupStatus {
  name: string;
  chatId: string;
  folder: string;
  isMain: boolean;
  /** source: a watched chat, stored and readable from main, never answered. */
  mode: 'agent' | 'source';
  /** null: the group answers every message. */
  trigger: string | null;
  pendingMessages: number;
  tokensToday: number;
  /** null: no daily budget. */
  dailyTokenBudget: number | null;
  spend: { today: Amount; month: Amount; limits: Limits };
  /** Disk the group's folder takes (null: could not be measured) and its quota, in bytes. */
  disk: { usedBytes: number | null; quotaBytes: number };
}

export interface StatusReport {
  groups: GroupStatus[];
  runsInProgress: number;
  recentRuns: (Pick<RunRow, 'id' | 'groupId' | 'status' | 'startedAt' | 'endedAt' | 'error'> & { usage: UsageTotals })[];
  pendingDeliveries: number;
  /** Every group's spend together (removed groups included), against the install's total budget. */
  totalSpend: { today: Amount; month: Amount; limits: Limits };
  /** The sandbox backend of the running (or last started) Carapace. */
  backend: BackendInUse | null;
}

export function statusReport(store: Store, config: Config): StatusReport {
  const spend = spendReport(store, config.timeZone);
  const paths = dataPaths(config.dataDir);
  const groups = store.listGroups().map((g): GroupStatus => {
    const { today, month, limits } = spend.groups.find((s) => s.folder === g.folder)!;
    return {
      name: g.name,
      chatId: g.chatId,
      folder: g.folder,
      isMain: g.isMain,
      mode: g.mode,
      trigger: g.requiresTrigger ? g.trigger : null,
      pendingMessages: store.countMessagesBetween(g.chatId, g.cursor, Number.MAX_SAFE_INTEGER), // counted on the index
      tokensToday: today.tokens,
      dailyTokenBudget: limits.tokens ?? null,
      spend: { today, month, limits },
      disk: { usedBytes: folderBytesSync(paths.group(g.workspace)) ?? null, quotaBytes: diskQuotaBytes(config, g) },
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
  const backend = backendInUse(paths.sandboxState);
  return { groups, runsInProgress: store.runningRuns().length, recentRuns, pendingDeliveries: store.pendingOutbox().length, totalSpend: spend.total, backend };
}

const n = (x: number) => x.toLocaleString('en-US');
const time = (ms: number | null) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-');
const tokens = (u: UsageTotals) => `${n(u.inputTokens + u.cacheCreationInputTokens + u.cacheReadInputTokens)} in / ${n(u.outputTokens)} out`;

/** "spend today: $0.42 of $2.00 (12,345 tokens, no token budget); this month: $3.10". */
export function spendLine(s: { today: Amount; month: Amount; limits: Limits }): string {
  const usd = s.limits.usd === undefined ? '' : ` of ${formatUsd(s.limits.usd)}`;
  const tokens = s.limits.tokens === undefined ? `${n(s.today.tokens)} tokens` : `${n(s.today.tokens)} of ${n(s.limits.tokens)} tokens`;
  const none = s.limits.usd === undefined && s.limits.tokens === undefined ? ', no daily budget' : '';
  return `spend today: ${formatUsd(s.today.usd)}${usd} (${tokens}${none}); this month: ${formatUsd(s.month.usd)}`;
}

/** "disk: 12 MB of 5,120 MB (0%)". */
function diskLine(d: GroupStatus['disk']): string {
  if (d.usedBytes === null) return `disk: not measured (folder missing or unreadable); quota ${n(mb(d.quotaBytes))} MB`;
  return `disk: ${n(mb(d.usedBytes))} MB of ${n(mb(d.quotaBytes))} MB (${Math.round((100 * d.usedBytes) / d.quotaBytes)}%)`;
}

export function renderStatus(report: StatusReport): string {
  const lines = ['Groups:'];
  for (const g of report.groups) {
    const role = g.mode === 'source' ? 'watched source (never answered)' : `trigger=${g.trigger ?? 'none'} pending=${g.pendingMessages}`;
    lines.push(`  ${g.isMain ? '*' : ' '} ${g.name} (${g.chatId}) folder=${g.folder} ${role}`);
    lines.push(`      ${spendLine(g.spend)}`);
    lines.push(`      ${diskLine(g.disk)}`);
  }
  lines.push(`All groups: ${spendLine(report.totalSpend)}`);
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

// `carapace status [--json]`: whether Carapace runs (pid, uptime, backend, web address), then what the store
// knows — groups by name, runs, today's and this month's spend, the next scheduled tasks — and the bot channels. Works while stopped.
import type { Command } from 'commander';
import type { Config } from '../config.js';
import { ZERO } from '../groups/spend.js';
import { formatTime } from '../time.js';
import type { Store } from '../store/store.js';
import { channelSummaries, renderChannels, type ChannelSummary } from './channel.js';
import { writeJson, type CliContext } from './context.js';
import { runningInstance } from './instance-info.js';
import { renderStatus, statusReport, type StatusReport } from './status.js';
import { ifStore } from './with-store.js';

interface InstanceStatus {
  running: boolean;
  pid?: number;
  startedAt?: string;
  uptimeS?: number;
  backend?: string;
  webUrl?: string;
}

interface NextTask {
  id: string;
  group: string | null;
  nextRun: string;
  prompt: string;
}

type FullStatus = { instance: InstanceStatus } & StatusReport & {
  nextTasks: NextTask[];
  channels: ChannelSummary[];
};

/** Before the first start there is no store: the same shape, empty. */
const NOTHING_YET: StatusReport = { groups: [], runsInProgress: 0, recentRuns: [], pendingDeliveries: 0, totalSpend: { today: ZERO, month: ZERO, limits: {} }, backend: null };

function instanceStatus(config: Config, now = Date.now()): InstanceStatus {
  const info = runningInstance(config.dataDir);
  if (!info) return { running: false };
  const { pid, startedAt, backend, webUrl } = info;
  return { running: true, pid, startedAt: formatTime(startedAt, config.timeZone), uptimeS: Math.round((now - startedAt) / 1000), backend, webUrl };
}

/** The active tasks due soonest. */
function nextTasks(store: Store, timeZone: string, count = 5): NextTask[] {
  const due = store.tasks.list().filter((t) => t.status === 'active' && t.nextRun !== null);
  return due
    .sort((a, b) => a.nextRun! - b.nextRun!)
    .slice(0, count)
    .map((t) => ({ id: t.id, group: store.groupById(t.groupId)?.name ?? null, nextRun: formatTime(t.nextRun!, timeZone), prompt: t.prompt }));
}

const uptime = (s: number) => (s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

function renderInstance(i: InstanceStatus): string {
  if (!i.running) return 'Carapace is not running (start it with `carapace start`, or `carapace service install`).';
  return `Carapace is running: pid ${i.pid}, up ${uptime(i.uptimeS!)} (since ${i.startedAt}), sandbox backend ${i.backend}\n  web: ${i.webUrl} (\`carapace open\` for the link with its token)`;
}

function render(s: FullStatus): string {
  const parts = [renderInstance(s.instance)];
  parts.push(renderStatus(s));
  if (s.nextTasks.length) parts.push(['Next tasks:', ...s.nextTasks.map((t) => `  ${t.nextRun}  ${t.id}  ${t.group ?? '?'}: ${t.prompt.replace(/\s+/g, ' ').slice(0, 60)}`)].join('\n'));
  parts.push(renderChannels(s.channels));
  return parts.join('\n');
}

async function status(ctx: CliContext, json: boolean | undefined): Promise<void> {
  const config = ctx.config();
  const instance = instanceStatus(config);
  const channels = await channelSummaries(ctx);
  let full: FullStatus | undefined;
  await ifStore(ctx, (store) => {
    const report = statusReport(store, config);
    full = { instance, ...report, nextTasks: nextTasks(store, config.timeZone), channels };
  });
  if (json) return writeJson(ctx, full ?? { instance, ...NOTHING_YET, nextTasks: [], channels });
  if (full) return void ctx.out.write(`${render(full)}\n`);
  ctx.out.write(`${renderInstance(instance)}\nNo data yet at ${config.dataDir}: start Carapace with \`npm start\`.\n${renderChannels(channels)}\n`);
}

export function addStatus(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('whether Carapace runs (pid, uptime, backend), groups, runs, spend today and this month, next tasks, channels')
    .option('--json', 'print the result as JSON')
    .action((o: { json?: boolean }) => status(ctx, o.json));
}

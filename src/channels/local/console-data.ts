// The console's views of the running install: overview, live runs, scheduled tasks, spend, egress and pairing.
// Reads come from the store and the run board; every change goes through the same store calls and host ops the
// CLI and the agents use.
import { newPairingCode, PAIRING_CODE_TTL_MS } from '../../core/bot-owners.js';
import { summarizeTask } from '../../ops/task-ops.js';
import { totalTokens } from '../../store/store.js';
import { isoInZone, startOfDay } from '../../time.js';
import { CHANNEL_PLUGINS } from '../registry.js';
import { ConsoleError, type ConsoleDeps, mainContext, viaOp } from './console-context.js';

const DAY_MS = 86_400_000;
/** Fine enough for every real time zone's day boundary (some are offset by 30 or 45 minutes). */
const BUCKET_MS = 15 * 60_000;

export function overview(deps: ConsoleDeps) {
  const { store, config, runtime, board } = deps;
  const today = startOfDay(Date.now(), config.timeZone);
  const usage = store.listGroups().map((g) => store.groupUsageSince(g.id, today));
  return {
    assistant: config.assistantName,
    backend: runtime.kind,
    timeZone: config.timeZone,
    channels: { local: { state: 'connected', detail: 'this page and `carapace chat`', since: 0 }, ...deps.channelHealth() },
    runs: board.runs().length,
    maxSandboxes: config.maxSandboxes,
    groups: store.listGroups().length,
    today: {
      tokens: usage.reduce((sum, u) => sum + totalTokens(u), 0),
      calls: usage.reduce((sum, u) => sum + u.calls, 0),
    },
  };
}

/** Tokens per group per day (the install's time zone) over the last `days` days, oldest day first. */
export function spend(deps: ConsoleDeps, days: number) {
  const { store, config } = deps;
  const span = Math.min(Math.max(Math.trunc(days) || 14, 1), 90);
  const since = startOfDay(Date.now() - (span - 1) * DAY_MS, config.timeZone);
  const names = new Map(store.listGroups().map((g) => [g.id, g.name]));
  const perDay = new Map<string, Record<string, number>>();
  for (let t = since; t < Date.now(); t += DAY_MS) perDay.set(isoInZone(t + DAY_MS / 2, config.timeZone).slice(0, 10), {});
  for (const b of store.usageBuckets(since, BUCKET_MS)) {
    const day = isoInZone(b.start, config.timeZone).slice(0, 10);
    const row = perDay.get(day) ?? {};
    const name = names.get(b.groupId) ?? `group ${b.groupId}`;
    row[name] = (row[name] ?? 0) + b.tokens;
    perDay.set(day, row);
  }
  return { days: [...perDay].map(([day, groups]) => ({ day, groups })) };
}

export const liveRuns = (deps: ConsoleDeps) => ({ runs: deps.board.runs() });

export function stopRun(deps: ConsoleDeps, runId: string) {
  if (!deps.board.stop(runId, 'stopped from the console')) throw new ConsoleError(`Run ${runId} is not running`, 404);
  return { ok: true };
}

export function listTasks(deps: ConsoleDeps) {
  const { store, config } = deps;
  return { tasks: store.tasks.list({ includeCancelled: false }).map((t) => summarizeTask(store, t, config.timeZone)) };
}

export function taskHistory(deps: ConsoleDeps, id: string) {
  if (!deps.store.tasks.get(id)) throw new ConsoleError(`No task ${id}`, 404);
  return { runs: deps.store.tasks.history(id, 20) };
}

const TASK_OPS: Record<string, string> = { pause: 'pause_task', resume: 'resume_task', cancel: 'cancel_task' };

/** pause, resume, cancel (through the task ops, with their checks), or run now (its schedule unchanged). */
export async function taskAction(deps: ConsoleDeps, id: string, action: string) {
  const { store, orchestrator } = deps;
  if (action !== 'run') {
    if (!Object.hasOwn(TASK_OPS, action)) throw new ConsoleError(`Unknown task action "${action}" (pause, resume, cancel, run)`, 404);
    return viaOp(mainContext(deps), TASK_OPS[action], { task_id: id });
  }
  const task = store.tasks.get(id);
  if (!task) throw new ConsoleError(`No task ${id}`, 404);
  if (task.status === 'cancelled') throw new ConsoleError(`Task ${id} is cancelled.`, 409);
  try {
    store.tasks.claimManual(id, Date.now());
  } catch (err) {
    throw new ConsoleError((err as Error).message, 409);
  }
  orchestrator.rescan();
  return summarizeTask(store, task, deps.config.timeZone);
}

/** The proxies' recent decisions (memory) and the owner's answers to approval cards (the store keeps them all). */
export const egressLog = (deps: ConsoleDeps) => ({ decisions: deps.board.recentEgress(200), approvals: deps.store.approvals.recent(100) });

/** The bot channels that can be paired, with their owner (if paired). */
export function pairingChannels(deps: ConsoleDeps) {
  return {
    channels: CHANNEL_PLUGINS.filter((p) => p.setup).map((p) => {
      const owner = deps.store.ownerOf(p.name);
      return { name: p.name, setUp: !!p.setup!.account(deps.config), owner: owner ? { name: owner.name, chatId: owner.chatId } : null };
    }),
  };
}

/** A one-time code whose first sender (in a DM to the bot) becomes the channel's owner. */
export function issuePairingCode(deps: ConsoleDeps, channel: string) {
  const plugin = CHANNEL_PLUGINS.find((p) => p.name === channel && p.setup);
  if (!plugin?.setup) throw new ConsoleError(`No bot channel "${channel}"`, 404);
  if (!plugin.setup.account(deps.config)) throw new ConsoleError(`${channel} is not set up: run \`carapace channel add ${channel}\` first.`, 409);
  const code = newPairingCode();
  const expiresAt = Date.now() + PAIRING_CODE_TTL_MS;
  deps.store.issuePairingCode(channel, code, expiresAt);
  return { channel, code, expiresAt, hint: plugin.setup.pairHint(deps.config) };
}

// The conductor: inbound message → store → trigger check → group queue → sandboxed agent run → outbox →
// channel. Each step lives in its own module of src/core; this file wires them and reads top to bottom.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { APP_ROOT } from '../app-root.js';
import type { Channel, ChannelHost, ChatInfo, InboundMessage } from '../channels/channel.js';
import type { Config } from '../config.js';
import { assertSandboxCanReach, dataPaths, ensureSandboxDir } from '../fs/paths.js';
import { GroupPolicy } from '../groups/group-policy.js';
import type { Output } from '../ipc/protocol.js';
import { globalMemory } from '../memory/templates.js';
import type { OpHost } from '../ops/registry.js';
import { GroupQueue, type RunOutcome } from '../queue/group-queue.js';
import { needsAgent } from '../router/trigger.js';
import type { SandboxRuntime } from '../sandbox/runtime.js';
import type { Group, Store } from '../store/store.js';
import { Scheduler, systemClock, type Clock } from '../tasks/scheduler.js';
import type { AgentRun, RunDeps } from './agent-run.js';
import type { Core } from './core.js';
import { Delivery } from './delivery.js';
import { runGroup } from './group-run.js';
import { closeAnIdleRun, joinable, pipeMessages, tasksDue } from './live-runs.js';
import { giveUp } from './notes.js';
import { prewarm } from './prewarm.js';
import { handleOutput, type OutputContext } from './outputs.js';
import { freshSocketDir, installId, recoverRuns } from './recovery.js';
import { alertOwner, groupAdmin } from './group-admin.js';
import { channelHost, tellUnreachable } from './channel-host.js';
import { claimMain, registerGroup, writeOnce, type NewGroup } from './registration.js';
import { hasWork } from './run-plan.js';
import { handledOnArrival } from './session-commands.js';

export interface OrchestratorDeps {
  config: Config;
  store: Store;
  runtime: SandboxRuntime;
  channels: Channel[];
  log: Logger;
  /** Wall clock and timers for the task scheduler (tests drive it by hand). */
  clock?: Clock;
}

/**
 * The host core. Everything is driven by events; the store is the source of truth, so a restart picks up
 * exactly where the last process stopped.
 */
export class Orchestrator {
  readonly paths;
  readonly queue: GroupQueue;
  readonly delivery: Delivery;
  readonly scheduler: Scheduler;
  readonly policy: GroupPolicy;
  private readonly core: Core;
  /** Runs being set up, executed or wrapped up; shutdown waits for them so none touches a closed store. */
  private readonly inflight = new Set<Promise<RunOutcome>>();
  private readonly runDeps: RunDeps;
  /** What host ops may do; the web console acts through it with the main chat's authority. */
  readonly opHost: OpHost;
  private stopping = false;
  private readonly host: ChannelHost;

  constructor(private readonly deps: OrchestratorDeps) {
    const { config, log, store } = deps;
    this.paths = dataPaths(config.dataDir);
    const install = installId(config.dataDir);
    const socketDir = freshSocketDir(install);
    const alert = (a: Parameters<typeof alertOwner>[1]) => alertOwner(this.core, a);
    this.policy = new GroupPolicy({ store, config, log, protectedPaths: [config.dataDir, socketDir], projectDir: APP_ROOT, alert });
    const installLabels = { 'carapace.install': install };
    this.runDeps = { config, paths: this.paths, runtime: deps.runtime, log, installLabels, socketDir, policy: this.policy };
    this.queue = new GroupQueue({
      maxConcurrent: config.maxSandboxes,
      retry: config.retry,
      run: (groupId, attempt) => this.track(runGroup(this.core, { runDeps: this.runDeps, onOutput: this.onOutput }, groupId, attempt)),
      onGiveUp: (groupId, attempts) => giveUp(this.core, groupId, attempts),
      onSaturated: () => closeAnIdleRun(this.core),
      onError: (groupId, err) => log.error({ groupId, err }, 'run failed unexpectedly'),
    });
    this.delivery = new Delivery(store, deps.channels, log, config.retry, (chatId, reason) => tellUnreachable(this.core, chatId, reason));
    const clock = deps.clock ?? systemClock;
    this.scheduler = new Scheduler({ tasks: store.tasks, timeZone: config.timeZone, clock, log, onDue: (ids) => tasksDue(this.core, ids), onSoon: (soon) => prewarm(this.core, this.policy, soon) });
    this.core = {
      ...deps,
      paths: this.paths,
      queue: this.queue,
      delivery: this.delivery,
      live: new Map<number, AgentRun>(),
      lastErrors: new Map<number, string>(),
      stopping: () => this.stopping,
    };
    this.host = channelHost(this.core);
    this.opHost = {
      registerGroup: (g) => this.registerGroup(g),
      deliver: () => this.delivery.kick(),
      defaultEgressAllow: config.egress.defaultAllow,
      tasks: { timeZone: config.timeZone, minIntervalMs: config.taskMinIntervalMs, now: () => clock.now(), changed: () => this.scheduler.reschedule() },
      groups: groupAdmin(this.core, this.policy, () => this.scheduler.reschedule()),
    };
  }

  /** Recover what a previous process left, connect channels, and resume pending work. */
  async start(): Promise<void> {
    const { runtime, channels, log, config } = this.deps;
    // bwrap starts as the sandbox uid, which must walk to every mount source; engines bind-mount as the daemon.
    if (runtime.kind === 'bwrap') for (const path of [join(APP_ROOT, 'node_modules'), config.dataDir]) assertSandboxCanReach(path, config.sandbox);
    const removed = await runtime.cleanupOrphans(this.runDeps.installLabels);
    if (removed > 0) log.warn({ removed }, 'removed sandboxes left by a previous run');
    ensureSandboxDir(this.paths.globalMemory, config.sandbox);
    writeOnce(this.core, join(this.paths.globalMemory, 'CLAUDE.md'), globalMemory(config.assistantName));
    recoverRuns(this.core, this.onOutput);
    for (const channel of channels) await channel.connect((m) => this.handleInbound(m), this.host);
    this.delivery.kick();
    this.scheduler.start(); // claims occurrences missed while down: each task runs once, not once per miss
    this.enqueueGroupsWithWork();
    log.info({ groups: this.deps.store.listGroups().length, runtime: runtime.kind }, 'carapace started');
  }

  /** Stop taking work, let live runs go (their unanswered messages stay pending for next start), close channels. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.scheduler.stop();
    this.queue.stop();
    const delivered = this.delivery.stop(); // a send on the wire finishes and is recorded before channels close
    await Promise.all([...this.core.live.values()].map((run) => run.stop('orchestrator shutting down')));
    await Promise.allSettled([...this.inflight]);
    await this.deps.runtime.close?.(); // what the backend keeps between runs (Docker's shared network holders)
    await delivered;
    for (const channel of this.deps.channels) await channel.disconnect().catch(() => undefined);
    rmSync(this.runDeps.socketDir, { recursive: true, force: true });
  }

  /** A message from any channel: stored first, then piped into the group's live run or queued for a new one. */
  handleInbound(message: InboundMessage): void {
    const { store } = this.deps;
    const id = store.insertMessage(message);
    if (id === null || message.fromAssistant || this.stopping) return; // duplicate delivery, or our own echo
    const group = store.groupByChat(message.chatId);
    if (!group || !needsAgent(group, message)) return; // stays in the store as context
    if (handledOnArrival(this.core, group, id, message.text)) return;
    const run = this.core.live.get(group.id);
    if (joinable(run)) pipeMessages(this.core, group, run);
    else this.queue.enqueue(group.id); // an isolated task run takes no messages: they run after it
  }

  /**
   * The store changed behind our back (the CLI queued a task run, edited tasks): re-arm the scheduler and
   * start whatever now has work.
   */
  rescan(): void {
    if (this.stopping) return;
    this.scheduler.reschedule();
    tasksDue(this.core, this.deps.store.tasks.groupsWithClaimed());
    this.enqueueGroupsWithWork();
  }

  /** A channel set up while running (`carapace channel add`): connected now, delivered through from now on. */
  async addChannel(channel: Channel): Promise<void> {
    if (this.stopping) return;
    this.deps.channels.push(channel);
    await channel.connect((m) => this.handleInbound(m), this.host);
    this.delivery.kick();
  }

  /** A channel removed while running (`carapace channel remove`): disconnected; nothing is delivered through it. */
  async removeChannel(name: string): Promise<void> {
    const at = this.deps.channels.findIndex((c) => c.name === name);
    if (at < 0) return;
    const [channel] = this.deps.channels.splice(at, 1);
    await channel.disconnect().catch((err) => this.deps.log.warn({ channel: name, err }, 'channel did not disconnect cleanly'));
  }

  /** Register a chat as a group: its folder (with a starter CLAUDE.md) is created now. */
  registerGroup(g: NewGroup): Group {
    return registerGroup(this.core, g);
  }

  /** A channel names the owner's main chat (WhatsApp: the self-chat); main moves there if it may. */
  claimMain(chat: ChatInfo): void {
    claimMain(this.core, chat);
  }

  private readonly onOutput = (ctx: OutputContext, output: Output): void => handleOutput(this.core, this.opHost, ctx, output);

  private enqueueGroupsWithWork(): void {
    for (const group of this.deps.store.listGroups()) if (hasWork(this.core, group)) this.queue.enqueue(group.id);
  }

  private track(run: Promise<RunOutcome>): Promise<RunOutcome> {
    this.inflight.add(run);
    void run.finally(() => this.inflight.delete(run)).catch(() => undefined);
    return run;
  }
}

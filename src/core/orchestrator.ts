import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { Channel, ChannelHost, ChatInfo, InboundMessage } from '../channels/channel.js';
import type { Config } from '../config.js';
import { listReady } from '../ipc/files.js';
import { GROUP_MOUNT, type Output } from '../ipc/protocol.js';
import { GroupQueue, type RunOutcome } from '../queue/group-queue.js';
import { formatMessages, formatTaskPrompt, stripInternal } from '../router/format.js';
import { needsAgent } from '../router/trigger.js';
import { maySessionCommand, sessionCommand } from '../router/commands.js';
import { archiveOnClear } from '../memory/transcript.js';
import type { SandboxRuntime } from '../sandbox/runtime.js';
import type { Group, Store, StoredMessage } from '../store/store.js';
import type { TaskRun } from '../store/tasks.js';
import { Scheduler, systemClock, type Clock } from '../tasks/scheduler.js';
import { APP_ROOT } from '../app-root.js';
import { AgentRun, newRunId, type RunDeps, type RunMode } from './agent-run.js';
import { groupLimits } from '../groups/container-config.js';
import { Delivery } from './delivery.js';
import { GroupPolicy } from '../groups/group-policy.js';
import { OpError, runOp, type OpHost } from '../ops/registry.js';
import { globalMemory, groupMemory } from '../memory/templates.js';
import { FileRefused, spoolGroupFile } from '../boundary/outbound-files.js';
import { assertSandboxCanReach, dataPaths, ensureSandboxDir } from '../fs/paths.js';
import { AgentTree, writeOnce } from '../fs/safe-write.js';
import { readOutputFile, setAside } from './run-outputs.js';

export interface OrchestratorDeps {
  config: Config;
  store: Store;
  runtime: SandboxRuntime;
  channels: Channel[];
  log: Logger;
  /** Wall clock and timers for the task scheduler (tests drive it by hand). */
  clock?: Clock;
}

/** What an output belongs to; `isolated` outputs never touch the group's session. */
interface OutputContext {
  group: Group;
  runId: string;
  isolated: boolean;
  run?: AgentRun;
}

/** Seq used for the host's own notes in the outbox (never produced by a runner). */
const HOST_NOTE_SEQ = 1_000_000_000;

/**
 * The host core: inbound message → store → trigger check → group queue → sandboxed agent run → outbox →
 * channel. Everything is driven by events; the store is the source of truth, so a restart picks up exactly
 * where the last process stopped.
 */
export class Orchestrator {
  readonly paths;
  readonly queue: GroupQueue;
  readonly delivery: Delivery;
  readonly scheduler: Scheduler;
  private readonly live = new Map<number, AgentRun>();
  /** Runs being set up, executed or wrapped up; shutdown waits for them so none touches a closed store. */
  private readonly inflight = new Set<Promise<RunOutcome>>();
  private readonly lastErrors = new Map<number, string>();
  private readonly runDeps: RunDeps;
  private readonly opHost: OpHost;
  readonly policy: GroupPolicy;
  private stopping = false;

  constructor(private readonly deps: OrchestratorDeps) {
    const { config, log } = deps;
    this.paths = dataPaths(config.dataDir);
    const installId = this.installId();
    const socketDir = mkdtempSync(join(tmpdir(), 'carapace-'));
    this.policy = new GroupPolicy({ store: deps.store, config, log, protectedPaths: [config.dataDir, socketDir], projectDir: APP_ROOT });
    this.runDeps = {
      config,
      paths: this.paths,
      runtime: deps.runtime,
      log,
      installLabels: { 'carapace.install': installId },
      socketDir,
      policy: this.policy,
    };
    chmodSync(this.runDeps.socketDir, 0o711); // the sandbox uid must reach its socket; it cannot list others
    this.queue = new GroupQueue({
      maxConcurrent: config.maxSandboxes,
      retry: config.retry,
      run: (groupId, attempt) => {
        const run = this.runGroup(groupId, attempt);
        this.inflight.add(run);
        void run.finally(() => this.inflight.delete(run)).catch(() => undefined);
        return run;
      },
      onGiveUp: (groupId, attempts) => this.giveUp(groupId, attempts),
      onSaturated: () => this.closeAnIdleRun(),
      onError: (groupId, err) => log.error({ groupId, err }, 'run failed unexpectedly'),
    });
    this.delivery = new Delivery(deps.store, deps.channels, log, config.retry);
    const clock = deps.clock ?? systemClock;
    this.scheduler = new Scheduler({
      tasks: deps.store.tasks,
      timeZone: config.timeZone,
      clock,
      log,
      onDue: (groupIds) => this.tasksDue(groupIds),
    });
    this.opHost = {
      registerGroup: (g) => this.registerGroup(g),
      deliver: () => this.delivery.kick(),
      defaultEgressAllow: config.egress.defaultAllow,
      tasks: {
        timeZone: config.timeZone,
        minIntervalMs: config.taskMinIntervalMs,
        now: () => clock.now(),
        changed: () => this.scheduler.reschedule(),
      },
    };
  }

  /** Recover what a previous process left, connect channels, and resume pending work. */
  async start(): Promise<void> {
    const { runtime, channels, log, config } = this.deps;
    // bwrap starts as the sandbox uid, which must walk to every mount source; engines bind-mount as the daemon.
    if (runtime.kind === 'bwrap')
      for (const path of [join(APP_ROOT, 'node_modules'), config.dataDir]) assertSandboxCanReach(path, config.sandbox);
    const removed = await runtime.cleanupOrphans(this.runDeps.installLabels);
    if (removed > 0) log.warn({ removed }, 'removed sandboxes left by a previous run');
    ensureSandboxDir(this.paths.globalMemory, config.sandbox);
    this.writeOnce(join(this.paths.globalMemory, 'CLAUDE.md'), globalMemory(config.assistantName));
    this.recoverRuns();
    const host = this.channelHost();
    for (const channel of channels) await channel.connect((m) => this.handleInbound(m), host);
    this.delivery.kick();
    this.scheduler.start(); // claims occurrences missed while down: each task runs once, not once per miss
    for (const group of this.deps.store.listGroups()) if (this.hasWork(group)) this.queue.enqueue(group.id);
    log.info({ groups: this.deps.store.listGroups().length, runtime: runtime.kind }, 'carapace started');
  }

  /** Stop taking work, let live runs go (their unanswered messages stay pending for next start), close channels. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.scheduler.stop();
    this.queue.stop();
    this.delivery.stop();
    await Promise.all([...this.live.values()].map((run) => run.stop('orchestrator shutting down')));
    await Promise.allSettled([...this.inflight]);
    for (const channel of this.deps.channels) await channel.disconnect().catch(() => undefined);
    rmSync(this.runDeps.socketDir, { recursive: true, force: true });
  }

  /** Register a chat as a group: its folder (with a starter CLAUDE.md) is created now. */
  registerGroup(g: Parameters<Store['registerGroup']>[0]): Group {
    groupLimits(g.containerConfig ?? {}, g.name); // refuse bad limits now, not at the group's first run
    const group = this.deps.store.registerGroup(g);
    const dir = ensureSandboxDir(this.paths.group(group.folder), this.deps.config.sandbox);
    const { assistantName } = this.deps.config;
    this.writeOnce(join(dir, 'CLAUDE.md'), groupMemory({ groupName: group.name, assistantName, isMain: group.isMain }));
    return group;
  }

  /**
   * A channel says which of its chats is the owner's main chat (WhatsApp: the self-chat). The main group (its
   * folder, memory and session) moves there from the local chat or from another chat of the same channel; the
   * local chat stays answered as an ordinary group. A main chat on another channel is left alone.
   */
  claimMain(chat: ChatInfo): void {
    const { store, log, config } = this.deps;
    const main = store.listGroups().find((g) => g.isMain);
    if (main?.chatId === chat.chatId) return;
    const channel = chat.chatId.split(':', 1)[0];
    const taken = store.groupByChat(chat.chatId);
    if (taken) {
      log.error({ chat: chat.chatId, folder: taken.folder }, 'the configured main chat is registered as another group; main stays where it is');
      return;
    }
    const name = chat.name ?? chat.chatId;
    if (!main) {
      this.registerGroup({ channel, chatId: chat.chatId, name, folder: 'main', trigger: `@${config.assistantName}`, requiresTrigger: false, isMain: true });
      return;
    }
    if (main.channel !== 'local' && main.channel !== channel) {
      log.warn({ main: main.chatId, offered: chat.chatId }, 'main chat belongs to another channel; leaving it there');
      return;
    }
    store.rebindGroup(main.id, { chatId: chat.chatId, name });
    log.info({ from: main.chatId, to: chat.chatId }, 'main chat moved');
    if (main.channel === 'local' && !store.listGroups().some((g) => g.folder === 'local')) {
      this.registerGroup({ channel: 'local', chatId: main.chatId, name: main.name, folder: 'local', trigger: main.trigger, requiresTrigger: false, isMain: false });
    }
  }

  /** What channels may ask of the host: group folders for media, chat names, readiness, the main chat. */
  private channelHost(): ChannelHost {
    const { store, config } = this.deps;
    return {
      groupFolder: (chatId) => {
        const group = store.groupByChat(chatId);
        if (!group) return undefined;
        const tree = new AgentTree(ensureSandboxDir(this.paths.group(group.folder), config.sandbox), config.sandbox);
        return { sandboxPath: GROUP_MOUNT, save: (rel, data) => void tree.write(rel, data) };
      },
      chatsSeen: (chats) => {
        for (const chat of chats) store.upsertChat(chat);
      },
      ready: () => this.delivery.kick(),
      mainChat: (chat) => this.claimMain(chat),
    };
  }

  /** Create a memory file from its template unless the agent already has one (even a link); the sandbox owns it. */
  private writeOnce(file: string, text: string): void {
    writeOnce(dirname(file), basename(file), text, this.deps.config.sandbox);
  }

  handleInbound(message: InboundMessage): void {
    const { store } = this.deps;
    const id = store.insertMessage(message);
    if (id === null || message.fromAssistant || this.stopping) return; // duplicate delivery, or our own echo
    const group = store.groupByChat(message.chatId);
    if (!group || !needsAgent(group, message.text)) return; // stays in the store as context
    const command = sessionCommand(group, message.text);
    if (command && !maySessionCommand(group)) {
      this.postNote(group, id, `/${command} is only available in the main chat.`);
      return;
    }
    if (command === 'clear') return this.clearSession(group, id);
    if (command === 'compact' && !store.sessionOf(group.id)) {
      this.postNote(group, id, 'There is no conversation to compact yet.');
      return;
    }
    const run = this.live.get(group.id);
    if (run && this.joinable(run)) this.pipeMessages(group, run);
    else this.queue.enqueue(group.id); // an isolated task run takes no messages: they run after it
  }

  /**
   * The store changed behind our back (the CLI queued a task run, edited tasks): re-arm the scheduler and
   * start whatever now has work.
   */
  rescan(): void {
    if (this.stopping) return;
    this.scheduler.reschedule();
    this.tasksDue(this.deps.store.tasks.groupsWithClaimed());
    for (const group of this.deps.store.listGroups()) if (this.hasWork(group)) this.queue.enqueue(group.id);
  }

  /** A live run in the group's own conversation that still takes inputs. */
  private joinable(run: AgentRun): boolean {
    return run.mode !== 'isolated' && run.open && !run.retired;
  }

  /** Feed the messages the run has not seen into it, if any of them needs the agent. */
  private pipeMessages(group: Group, run: AgentRun): void {
    const { store, log } = this.deps;
    const messages = store.messagesAfter(group.chatId, run.lastSentMessage);
    if (!messages.some((m) => needsAgent(group, m.text))) return;
    for (const input of this.toInputs(group, messages)) store.recordInput(run.id, run.send(input.text, input.lastId), input.lastId);
    void this.channelOf(group.chatId)?.setTyping(group.chatId, true).catch(() => undefined);
    log.debug({ group: group.folder, run: run.id }, 'piped into live run');
  }

  /** Feed waiting group-context task occurrences into a live run of the group's conversation. */
  private pipeTasks(run: AgentRun): void {
    const { store, log, config } = this.deps;
    for (const { occurrence, task } of store.tasks.startable(run.group.id)) {
      if (task.contextMode !== 'group') continue;
      const seq = run.nextSeq;
      // Recorded as running before the runner can see it: a crash from here on abandons it, never repeats it.
      store.tasks.attach(occurrence.id, run.id, seq);
      store.recordInput(run.id, seq, run.lastSentMessage);
      run.send(formatTaskPrompt(task, occurrence, config.timeZone), run.lastSentMessage);
      log.info({ group: run.group.folder, run: run.id, task: task.id, seq }, 'task piped into live run');
    }
  }

  /** The scheduler claimed occurrences for these groups. */
  private tasksDue(groupIds: number[]): void {
    for (const groupId of groupIds) {
      if (this.stopping) return;
      const run = this.live.get(groupId);
      if (run && this.joinable(run)) this.pipeTasks(run);
      if (!this.deps.store.tasks.hasClaimed(groupId)) continue;
      // What is left needs the group's slot: an idle run gives it up now, a busy one after its turn.
      if (run?.idle) run.close();
      this.queue.enqueue(groupId);
    }
  }

  /**
   * Turn pending messages into the run's inputs: chat messages are batched into one <messages> prompt; a
   * /compact is its own raw input so the SDK sees the command; a /clear was already handled on arrival.
   */
  private toInputs(group: Group, messages: StoredMessage[]): { text: string; lastId: number }[] {
    const { timeZone, promptBudget } = this.deps.config;
    const inputs: { text: string; lastId: number }[] = [];
    let batch: StoredMessage[] = [];
    const flush = () => {
      if (batch.length > 0) inputs.push({ text: formatMessages(batch, timeZone, promptBudget), lastId: batch.at(-1)!.id });
      batch = [];
    };
    for (const m of messages) {
      const command = needsAgent(group, m.text) ? sessionCommand(group, m.text) : undefined;
      if (command === 'compact' && maySessionCommand(group)) {
        flush();
        inputs.push({ text: '/compact', lastId: m.id });
      } else if (!command) batch.push(m);
    }
    flush();
    return inputs;
  }

  /** /clear: archive the conversation into the group folder, forget the session, let the live run go. */
  private clearSession(group: Group, messageId: number): void {
    const { store, log, config } = this.deps;
    const sessionId = store.sessionOf(group.id);
    const saved = sessionId ? archiveOnClear({ paths: this.paths, folder: group.folder, sessionId, owner: config.sandbox, log }) : '';
    store.clearSession(group.id);
    const run = this.live.get(group.id);
    if (run) {
      run.retired = true; // later messages start a fresh run instead of joining the old conversation
      run.close();
    }
    this.postNote(group, messageId, `Started a fresh conversation.${saved}`);
  }

  /** Unanswered messages that need the agent, or task occurrences waiting to run? */
  private hasWork(group: Group): boolean {
    const { store } = this.deps;
    return store.tasks.hasClaimed(group.id) || store.messagesAfter(group.chatId, group.cursor).some((m) => needsAgent(group, m.text));
  }

  /**
   * What a new run of the group starts with: a waiting task occurrence first (it has a due time to keep), else
   * the pending messages (as one or more inputs). Undefined when there is nothing to do.
   */
  private planRun(group: Group): { mode: RunMode; inputs: { text: string; lastId: number }[]; taskRun?: TaskRun } | undefined {
    const { store, config } = this.deps;
    const [next] = store.tasks.startable(group.id);
    if (next) {
      const mode = next.task.contextMode === 'isolated' ? 'isolated' : 'task';
      const text = formatTaskPrompt(next.task, next.occurrence, config.timeZone);
      return { mode, inputs: [{ text, lastId: group.cursor }], taskRun: next.occurrence };
    }
    const messages = store.messagesAfter(group.chatId, group.cursor);
    if (!messages.some((m) => needsAgent(group, m.text))) return undefined;
    const inputs = this.toInputs(group, messages);
    return inputs.length > 0 ? { mode: 'chat', inputs } : undefined;
  }

  private async runGroup(groupId: number, attempt: number): Promise<RunOutcome> {
    const { store, log } = this.deps;
    const group = store.groupById(groupId);
    if (!group || this.stopping) return 'done';
    const plan = this.planRun(group);
    if (!plan) return 'done';
    const [first, ...rest] = plan.inputs;

    const budget = this.policy.admit(groupId);
    if (!budget.ok) {
      log.warn({ group: group.folder }, 'daily token budget spent; not starting the agent');
      if (plan.taskRun) {
        store.tasks.skip(plan.taskRun.id, budget.message);
        this.noteTaskEnds([plan.taskRun]);
        if (this.hasWork(store.groupById(groupId)!)) this.queue.enqueue(groupId); // its messages get their own note
      } else this.postNote(group, first.lastId, `⚠️ ${budget.message}`);
      return 'done';
    }
    const runId = newRunId();
    const isolated = plan.mode === 'isolated';
    const run = new AgentRun(this.runDeps, runId, group, (r, o) => this.handleOutput({ group: r.group, runId: r.id, isolated, run: r }, o), first.lastId, plan.mode);
    store.startRun({
      id: runId,
      groupId,
      attempt,
      fromMessage: group.cursor,
      toMessage: first.lastId,
      sandbox: run.sandboxName,
      isolated,
      taskRun: plan.taskRun?.id,
    });
    for (const input of rest) store.recordInput(runId, run.send(input.text, input.lastId), input.lastId);
    this.live.set(groupId, run);
    const chat = this.channelOf(group.chatId);
    if (plan.mode === 'chat') void chat?.setTyping(group.chatId, true).catch(() => undefined);
    if (plan.mode === 'task') {
      // Whatever else waits for this conversation joins the same sandbox.
      this.pipeMessages(group, run);
      this.pipeTasks(run);
    }
    log.info({ group: group.folder, run: runId, attempt, mode: plan.mode, task: plan.taskRun?.taskId }, 'starting agent');

    let exit;
    try {
      const finished = await run.start(first.text, isolated ? undefined : this.resumableSession(group));
      exit = await finished;
    } catch (err) {
      exit = { ok: false, error: `could not start sandbox: ${(err as Error).message}` };
    } finally {
      this.live.delete(groupId);
      void chat?.setTyping(group.chatId, false).catch(() => undefined);
    }

    const cursor = store.groupById(groupId)!.cursor;
    const unanswered = run.lastSentMessage > cursor;
    if (this.stopping) {
      // Whatever it had not answered stays after the cursor and is picked up on the next start.
      store.endRun(runId, unanswered ? 'abandoned' : 'succeeded', unanswered ? exit.error : undefined);
      this.noteTaskEnds(store.tasks.endAttached(runId, { status: 'abandoned', error: 'the assistant shut down during the run' }));
      log.info({ group: group.folder, run: runId, unanswered }, 'run stopped for shutdown');
      return 'done';
    }
    store.endRun(runId, exit.ok ? 'succeeded' : 'failed', exit.error);
    // A clean exit that never took an occurrence up leaves it waiting; a failed run may have acted on it.
    this.noteTaskEnds(store.tasks.endAttached(runId, exit.ok ? 'unstarted' : { status: 'failed', error: exit.error ?? 'unknown error' }));
    if (exit.ok || !unanswered) {
      if (!exit.ok) log.warn({ group: group.folder, run: runId, error: exit.error }, 'run ended with an error');
      else log.info({ group: group.folder, run: runId }, 'run finished');
      if (this.hasWork(store.groupById(groupId)!)) this.queue.enqueue(groupId); // arrived as it closed
      return 'done';
    }
    if (run.budgetRefusal) {
      log.warn({ group: group.folder, run: runId }, 'daily token budget spent during the run');
      this.postNote(group, run.lastSentMessage, `⚠️ ${run.budgetRefusal}`);
      return 'done';
    }
    log.warn({ group: group.folder, run: runId, attempt, error: exit.error }, 'run failed');
    this.lastErrors.set(groupId, exit.error ?? 'unknown error');
    if (run.spokeInTurn) {
      // It already told the chat something for this turn; a retry could answer the same message twice.
      this.postNote(group, run.lastSentMessage, `⚠️ I ran into an error before finishing: ${exit.error}`);
      return 'done';
    }
    return 'retry';
  }

  /** The group's session, if its transcript exists (a run killed in its first turn leaves an id but no transcript). */
  private resumableSession(group: Group): string | undefined {
    const sessionId = this.deps.store.sessionOf(group.id);
    if (!sessionId || existsSync(this.paths.transcript(group.folder, sessionId))) return sessionId;
    this.deps.log.warn({ group: group.folder, sessionId }, 'session has no transcript; starting a fresh one');
    return undefined;
  }

  private handleOutput({ group, runId, isolated, run }: OutputContext, output: Output): void {
    const { store, log } = this.deps;
    switch (output.type) {
      case 'session':
        if (!run?.retired && !isolated) store.setSession(group.id, output.sessionId);
        break;
      case 'result': {
        const answered = store.inputMessage(runId, output.answered);
        this.queue.noteProgress(group.id);
        const text =
          stripInternal(output.text) ||
          (run?.isCommand(output.answered) ? 'Conversation compacted. The full transcript is saved in conversations/.' : '');
        if (text) store.queueOutput({ runId, seq: output.seq, chatId: group.chatId, text, groupId: group.id, answered });
        else if (answered !== undefined) store.advanceCursor(group.id, answered);
        store.tasks.completeAnswered(runId, output.answered, text);
        if (run?.idle) {
          void this.channelOf(group.chatId)?.setTyping(group.chatId, false).catch(() => undefined);
          // Task runs end after their work; a chat run stays warm unless someone (another group, or a task of
          // this one that cannot join it) needs the slot.
          if (run.mode !== 'chat' || this.queue.waitingGroups.length > 0 || store.tasks.hasClaimed(group.id)) run.close();
        }
        this.delivery.kick();
        break;
      }
      case 'message':
        store.queueOutput({ runId, seq: output.seq, chatId: group.chatId, text: output.text, groupId: group.id, sender: output.sender });
        this.delivery.kick();
        break;
      case 'file':
        this.queueFile(group, runId, output.seq, output.path, output.caption);
        break;
      case 'error':
        log.warn({ group: group.folder, run: runId, error: output.message }, 'agent reported an error');
        break;
      case 'request':
        if (run) void this.answer(run, output.seq, output.id, output.op, output.args);
        break; // a request from a run that is gone has nobody to answer
    }
  }

  private async answer(run: AgentRun, seq: number, id: string, op: string, args: unknown): Promise<void> {
    const { store, log } = this.deps;
    try {
      const result = await runOp({ group: run.group, runId: run.id, seq, store, host: this.opHost }, op, args);
      run.respond(id, { ok: true, result });
    } catch (err) {
      const error = err instanceof OpError ? err.message : 'internal error';
      log[err instanceof OpError ? 'warn' : 'error']({ group: run.group.folder, run: run.id, op, err }, 'agent request refused');
      run.respond(id, { ok: false, error });
    }
  }

  /** send_file: copy the file out of the agent's reach, then queue it like any reply (same idempotent key). */
  private queueFile(group: Group, runId: string, seq: number, path: string, caption = ''): void {
    const { store, log } = this.deps;
    const base = { runId, seq, chatId: group.chatId, groupId: group.id };
    if (store.hasOutput(runId, seq)) return; // replayed after a crash: already queued, maybe already sent
    try {
      const file = spoolGroupFile(this.paths.group(group.folder), path, this.paths.outboxFiles, `${runId}-${seq}`);
      store.queueOutput({ ...base, text: caption, file });
    } catch (err) {
      const reason = err instanceof FileRefused ? err.message : `could not read it (${(err as Error).message})`;
      log.warn({ group: group.folder, run: runId, path, reason }, 'send_file refused');
      store.queueOutput({ ...base, text: `⚠️ I could not send the file ${path}: ${reason}` });
    }
    this.delivery.kick();
  }

  private giveUp(groupId: number, attempts: number): void {
    const group = this.deps.store.groupById(groupId);
    if (!group) return;
    const pending = this.deps.store.messagesAfter(group.chatId, group.cursor);
    if (pending.length === 0) return;
    const error = this.lastErrors.get(groupId) ?? 'unknown error';
    this.deps.log.error({ group: group.folder, attempts, error }, 'giving up on pending messages');
    this.postNote(
      group,
      pending.at(-1)!.id,
      `⚠️ Sorry, I couldn't answer that: the agent failed ${attempts} times (${error}). Please try again.`,
    );
  }

  /** A message from the host itself, marking everything up to `upTo` as handled. Idempotent per range. */
  private postNote(group: Group, upTo: number, text: string): void {
    this.deps.store.queueOutput({ runId: `note-${group.id}-${upTo}`, seq: HOST_NOTE_SEQ, chatId: group.chatId, text, groupId: group.id, answered: upTo });
    this.delivery.kick();
  }

  /** Occurrences that ended without an answer are worth a word in their chat: the user expected something. */
  private noteTaskEnds(ended: TaskRun[]): void {
    const { store } = this.deps;
    for (const occurrence of ended) {
      const stored = store.tasks.runById(occurrence.id);
      const task = stored && store.tasks.get(stored.taskId);
      const group = task && store.groupById(task.groupId);
      if (!stored || !group || !['failed', 'abandoned', 'skipped'].includes(stored.status)) continue;
      const text =
        stored.status === 'abandoned'
          ? `⚠️ Scheduled task ${stored.taskId} was interrupted (${stored.error}) and is not repeated.`
          : `⚠️ Scheduled task ${stored.taskId} ${stored.status === 'failed' ? 'failed' : 'did not run'}: ${stored.error}`;
      store.queueOutput({ runId: `task-run-${stored.id}`, seq: HOST_NOTE_SEQ, chatId: group.chatId, text, groupId: group.id });
      this.delivery.kick();
    }
  }

  private closeAnIdleRun(): void {
    for (const run of this.live.values()) {
      if (run.idle) {
        run.close();
        return;
      }
    }
  }

  /**
   * Runs marked running belong to a process that died. Their sandboxes are gone (die-with-parent, orphan
   * cleanup); what they wrote but we had not stored yet is replayed — the outbox key makes that idempotent.
   */
  private recoverRuns(): void {
    const { store, log } = this.deps;
    for (const row of store.runningRuns()) {
      const group = store.groupById(row.groupId);
      const outDir = join(this.paths.run(row.id), 'out');
      if (group && existsSync(outDir)) {
        for (const name of listReady(outDir)) {
          const read = readOutputFile(join(outDir, name));
          if (read.ok) this.handleOutput({ group, runId: row.id, isolated: row.isolated }, read.output);
          else setAside(join(outDir, name), name, row.id, this.paths.rejectedDir, `${name} ${read.reason}`, log);
        }
      }
      store.endRun(row.id, 'abandoned', 'orchestrator stopped during the run');
      log.warn({ run: row.id }, 'recovered a run interrupted by a restart');
    }
    // Task occurrences a dead process was running may have had effects already: they are not repeated.
    // (Occurrences it had only claimed never started; they simply run now.)
    this.noteTaskEnds(store.tasks.abandonRunning('the assistant stopped during the run'));
    if (existsSync(this.paths.runsDir)) {
      for (const dir of readdirSync(this.paths.runsDir)) rmSync(join(this.paths.runsDir, dir), { recursive: true, force: true });
    }
  }

  private channelOf(chatId: string): Channel | undefined {
    return this.deps.channels.find((c) => c.owns(chatId));
  }

  /** A stable id for this data directory, so orphan cleanup never touches another install's sandboxes. */
  private installId(): string {
    const file = join(this.deps.config.dataDir, 'install-id');
    if (!existsSync(file)) {
      mkdirSync(this.deps.config.dataDir, { recursive: true });
      writeFileSync(file, `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}\n`);
    }
    return readFileSync(file, 'utf8').trim();
  }
}

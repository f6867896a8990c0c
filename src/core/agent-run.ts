import { randomBytes } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { listReady, watchDir, writeJsonAtomic } from '../ipc/files.js';
import { HEARTBEAT_FILE, seqName, type Input, type Output, type StartRequest } from '../ipc/protocol.js';
import type { SandboxHandle, SandboxRuntime } from '../sandbox/runtime.js';
import { budgetGroupOf, type Group } from '../store/store.js';
import { startEgressProxy } from '../boundary/egress-proxy.js';
import { secretWiring } from '../boundary/sandbox-secrets.js';
import { vaultDir } from '../boundary/secret-vault.js';
import type { GroupPolicy } from '../groups/group-policy.js';
import { credentialFix } from '../boundary/model-check.js';
import { startModelProxy } from '../boundary/model-proxy.js';
import { ensureSandboxDir, type DataPaths } from '../fs/paths.js';
import { readOutputFile, setAside } from './run-outputs.js';
import { runSandboxSpec } from './run-sandbox-spec.js';
import { askOwner } from './approval-asker.js';
import { runBoard } from './run-board.js';
import { lineSplitter, logSandboxLine } from './sandbox-log.js';
import { sandboxLimitNote, watchDisk } from './run-limits.js';
import { diskQuotaBytes } from '../groups/container-config.js';

export interface RunDeps {
  config: Config;
  paths: DataPaths;
  runtime: SandboxRuntime;
  log: Logger;
  /** Labels shared by every sandbox of this install (orphan cleanup matches them). */
  installLabels: Record<string, string>;
  /** Directory for the per-run proxy sockets (kept short: Unix socket paths max out at 108 bytes). */
  socketDir: string;
  /** Egress rules, extra mounts, token budget and metering for the run's group. */
  policy: GroupPolicy;
}

export interface RunExit {
  ok: boolean;
  error?: string;
}


/**
 * Why a run exists. `chat`: pending messages; `task`: a scheduled task in the group's conversation (messages
 * join it); `isolated`: a task in a fresh session of its own, which nothing else may join.
 */
export type RunMode = 'chat' | 'task' | 'isolated';

/** A live run in the group's own conversation that still takes inputs. */
export function joinable(run: AgentRun | undefined): run is AgentRun {
  return !!run && run.mode !== 'isolated' && run.open && !run.retired;
}

/** Output files handled per turn of the event loop. */
const DRAIN_BATCH = 100;

export const newRunId = () => `r${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;

/**
 * One live agent: a sandbox, its run directory and its model proxy. It feeds inputs in, turns output files into
 * events (each handled exactly once, in order, then deleted) and reports how the sandbox ended.
 */
export class AgentRun {
  private inputSeq = 0;
  private lastMessageSeq = 0;
  private handle: SandboxHandle | undefined;
  private stopWatching: (() => void) | undefined;
  private readonly closers: (() => Promise<void>)[] = [];
  private watchdog: NodeJS.Timeout | undefined;
  /** Armed by the first close(): a run that does not finish its turn in time is stopped, freeing its slot. */
  private closeDeadline: NodeJS.Timeout | undefined;
  private lastError: string | undefined;
  private ended = false;
  private readonly startedAt = Date.now();
  /** Highest message id fed into this run. */
  lastSentMessage: number;
  /** A result came back and nothing new has been fed in since. */
  idle = false;
  /** The agent said something (send_message) in the turn now in flight: a retry could answer twice. */
  spokeInTurn = false;
  /** Set when the model proxy refused a call because the group's budget is spent: say so instead of retrying. */
  budgetRefusal: string | undefined;
  /** Set when the run met a limit a retry would meet again (disk quota or reserve, memory, processes): the note. */
  limitHit: string | undefined;
  /** Set when the model API refused the credential (401/403): no retry can help, the owner must fix it. */
  credentialRefusal: string | undefined;
  /** Its model calls wait until then (epoch ms): it was fed a task ahead of the task's due time. */
  modelCallsNotBefore = 0;
  /** Told once per destination the egress proxy refused during the run (the first few), to tell the chat. */
  onEgressDenied: ((target: string, reason: string) => void) | undefined;
  private readonly egressDenied = new Set<string>();
  /** Its conversation was cleared: it finishes its turn but takes no new messages. */
  retired = false;
  /** The owner stopped it (from the console): its turn ends unanswered, with a note, and is not retried. */
  cancelled: string | undefined;
  /** Input seqs that were slash commands (/compact), whose turns end without a reply of their own. */
  private readonly commandInputs = new Set<number>();
  readonly dir: string;
  readonly sandboxName: string;
  private readonly runLog: Logger;
  /** Placeholders for the group's granted secrets and the CA trust settings, for the agent's environment. */
  private secretEnv: Record<string, string> = {};

  constructor(
    private readonly deps: RunDeps,
    readonly id: string,
    readonly group: Group,
    private readonly onOutput: (run: AgentRun, output: Output) => void,
    firstMessage: number,
    readonly mode: RunMode = 'chat',
  ) {
    this.dir = deps.paths.run(id);
    this.sandboxName = `carapace-${group.folder}-${id}`;
    this.runLog = deps.log.child({ run: id, group: group.folder });
    this.lastSentMessage = firstMessage;
    // Exists from the start, so follow-ups can be piped in while the sandbox is still starting.
    for (const dir of [this.dir, join(this.dir, 'in'), join(this.dir, 'out')]) ensureSandboxDir(dir, deps.config.sandbox);
  }

  /**
   * Start the sandbox with the first prompt (none: it waits for its first `send`). Resolves once it is running;
   * `finished` says how it ended.
   */
  async start(prompt: string | undefined, sessionId: string | undefined): Promise<Promise<RunExit>> {
    if (prompt?.startsWith('/')) this.commandInputs.add(0);
    const owner = this.deps.config.sandbox;
    const groupDir = ensureSandboxDir(this.deps.paths.group(this.group.workspace), owner);
    const stateDir = ensureSandboxDir(this.deps.paths.agentState(this.group.folder), owner);
    try {
      const sockets = await this.startProxies();
      writeJsonAtomic(join(this.dir, 'start.json'), this.startRequest(prompt, sessionId, sockets.token));
      this.handle = await this.deps.runtime.start(runSandboxSpec({ deps: this.deps, group: this.group, runId: this.id, runDir: this.dir, name: this.sandboxName }, groupDir, stateDir, sockets));
    } catch (err) {
      await this.cleanup(); // no half-started run leaves a socket or directory behind
      throw err;
    }
    const out = this.runLog.child({ stream: 'sandbox' });
    this.handle.output.on(
      'data',
      lineSplitter((line) => {
        const tool = line.trim() ? logSandboxLine(out, line) : undefined;
        if (tool) this.board.tool(this.id, tool);
      }),
    );
    this.board.add({ id: this.id, groupId: this.group.id, folder: this.group.folder, mode: this.mode, startedAt: this.startedAt, stop: (why) => this.cancel(why) });

    this.stopWatching = watchDir(join(this.dir, 'out'), () => this.drainOutputs(DRAIN_BATCH), 2000, (err) => this.fail('handling its outputs failed', err));
    this.armWatchdog();
    this.watchLimits(groupDir);
    return this.handle.exited.then(async (exit) => {
      if (exit.limit) this.limitHit ??= sandboxLimitNote(exit.limit, this.group.folder);
      try {
        this.drainOutputs(); // whatever the runner wrote last
      } catch (err) {
        this.fail('handling its last outputs failed', err);
      }
      await this.cleanup();
      const ok = exit.code === 0 && !this.lastError;
      const error = ok ? undefined : (this.lastError ?? this.limitHit ?? `sandbox exited with ${exit.signal ?? `code ${exit.code}`}`);
      return { ok, error };
    });
  }

  /** Stop the run when the group folder passes its quota or the host's free disk its reserve. */
  private watchLimits(folder: string): void {
    const { config } = this.deps;
    const limits = { folder, groupRef: this.group.folder, quotaBytes: diskQuotaBytes(config, this.group), dataDir: config.dataDir, reserveBytes: config.sandbox.diskReserveMb * 1024 * 1024 };
    const stop = watchDisk(limits, (note) => this.fail((this.limitHit ??= note)), this.runLog);
    this.closers.push(async () => stop());
  }

  /** The run's model proxy (adds the key, meters the budget) and egress proxy (per-group allowlist). */
  private async startProxies(): Promise<{ token: string; model: string; egress: string }> {
    const { config, policy } = this.deps;
    const token = randomBytes(24).toString('base64url');
    const sockets = { token, model: join(this.deps.socketDir, `${this.id}.model.sock`), egress: join(this.deps.socketDir, `${this.id}.egress.sock`) };
    const model = await startModelProxy({
      socketPath: sockets.model,
      token,
      upstreamUrl: config.upstreamUrl,
      credentials: config.credentials,
      log: this.runLog,
      reserve: (estimate) => {
        const verdict = policy.reserve(budgetGroupOf(this.group), this.id, estimate); // a thread spends its chat's budget
        if (!verdict.ok) this.budgetRefusal = verdict.message;
        return verdict;
      },
      notBefore: () => this.modelCallsNotBefore,
      onCredentialRefused: (status) => {
        if (this.credentialRefusal) return;
        this.credentialRefusal = credentialFix(status);
        this.fail(this.credentialRefusal);
      },
    });
    this.closers.push(model.close);
    const secrets = secretWiring({
      secrets: () => policy.grantedSecrets(this.group.id),
      vaultDir: vaultDir(config.dataDir),
      runDir: this.dir,
      upstreamCaFile: config.egress.upstreamCaFile,
      log: this.runLog.child({ proxy: 'egress' }),
      onLeak: (d) => this.board.egress({ group: this.group.folder, ...d, allowed: false }),
    });
    this.secretEnv = secrets.env;
    const egress = await startEgressProxy({
      intercept: secrets.intercept,
      socketPath: sockets.egress,
      rules: () => policy.egressRules(this.group.id),
      privateAllow: config.egress.privateAllow,
      log: this.runLog.child({ proxy: 'egress' }),
      ask: (req) => askOwner(config.dataDir, this.group.id, req),
      onDecision: (d) => {
        this.board.egress({ group: this.group.folder, ...d });
        // The chat hears of a refusal the owner was not asked about (a card already told the owner).
        if (!d.allowed && !d.asked) this.egressRefused(`${d.host}:${d.port}`, d.reason ?? 'refused');
      },
    });
    this.closers.push(egress.close);
    return sockets;
  }

  private startRequest(prompt: string | undefined, sessionId: string | undefined, proxyToken: string): StartRequest {
    const { config } = this.deps;
    return {
      runId: this.id,
      chatId: this.group.chatId,
      groupFolder: this.group.folder,
      isMain: this.group.isMain,
      assistantName: config.assistantName,
      sessionId,
      prompt,
      timeZone: config.timeZone,
      model: config.model,
      proxyToken,
      authMode: config.credentials.apiKey ? 'apiKey' : 'oauth',
      idleTimeoutMs: config.idleTimeoutMs,
      heartbeatMs: config.heartbeatMs,
      cliEnv: { ...config.cliEnv, ...this.secretEnv },
    };
  }

  /** The seq the next `send` will use, so the store can record what it carries before the runner can see it. */
  get nextSeq(): number {
    return this.inputSeq + 1;
  }

  /** Still taking new inputs: its sandbox has not ended and it was not asked to close. */
  get open(): boolean {
    return !this.ended && !this.closeDeadline; // once asked to close, new work waits for a fresh run
  }

  /** Pipe more messages into the live run; returns the input's seq. */
  send(text: string, maxMessage: number): number {
    const seq = ++this.inputSeq;
    this.lastMessageSeq = seq;
    if (text.startsWith('/')) this.commandInputs.add(seq);
    this.lastSentMessage = Math.max(this.lastSentMessage, maxMessage);
    this.idle = false;
    this.writeInput(seq, { type: 'message', seq, text });
    return seq;
  }

  isCommand(inputSeq: number): boolean {
    return this.commandInputs.has(inputSeq);
  }

  /** Answer a runner `request`. */
  respond(id: string, outcome: { ok: true; result: unknown } | { ok: false; error: string }): void {
    this.writeInput(++this.inputSeq, { type: 'response', id, ...outcome });
  }

  /** Ask the runner to finish its current turn and exit. */
  close(): void {
    this.writeInput(++this.inputSeq, { type: 'close' });
    if (this.ended || this.closeDeadline) return;
    const graceMs = this.deps.config.closeGraceMs;
    // A runner that never gets to the close (its CLI blocked on a FIFO the agent planted, say) would hold the
    // group's slot until the wall-clock limit.
    this.closeDeadline = setTimeout(() => this.fail(`did not finish within ${graceMs / 1000} s of being asked to close`), graceMs);
    this.closeDeadline.unref();
  }

  /** The owner asked for this run to end now: it is stopped and not retried. */
  cancel(reason: string): void {
    this.cancelled ??= reason;
    this.fail(reason);
  }

  private get board() {
    return runBoard(this.deps.config.dataDir);
  }

  /** Kill the sandbox (crash, shutdown, lost heartbeat). */
  async stop(reason: string): Promise<void> {
    this.lastError ??= reason;
    await this.handle?.stop(1000);
  }

  /**
   * Something the agent controls (its in/ or out/ files) made the host's part of the run fail: end this run,
   * with the reason logged and kept as its error, and never let the error travel further up.
   */
  /** The chat hears of the first few destinations refused during the run, each once. */
  private egressRefused(target: string, reason: string): void {
    if (this.egressDenied.has(target) || this.egressDenied.size >= 3) return;
    this.egressDenied.add(target);
    this.onEgressDenied?.(target, reason);
  }

  private fail(what: string, err?: unknown): void {
    const reason = err === undefined ? what : `${what}: ${err instanceof Error ? err.message : String(err)}`;
    this.runLog.warn({ reason, err }, 'stopping the run');
    this.stop(reason).catch((stopErr) => this.runLog.error({ err: stopErr }, 'could not stop the sandbox'));
  }

  private writeInput(seq: number, input: Input): void {
    if (this.ended) return; // nobody is listening any more
    try {
      writeJsonAtomic(join(this.dir, 'in', seqName(seq)), input);
    } catch (err) {
      this.fail(`could not write input ${seqName(seq)}`, err);
    }
  }

  /** Handle up to `max` ready outputs in order; true when more wait (a flood is taken in slices, never in one go). */
  private drainOutputs(max = Infinity): boolean {
    const outDir = join(this.dir, 'out');
    let names: string[];
    try {
      names = listReady(outDir);
    } catch {
      return false; // run dir already cleaned up
    }
    for (const name of names.slice(0, max)) {
      const file = join(outDir, name);
      const read = readOutputFile(file);
      if (!read.ok) {
        setAside(file, name, this.id, this.deps.paths.rejectedDir, `${name} ${read.reason}`, this.deps.log);
        continue;
      }
      const output = read.output;
      if (output.type === 'result') {
        this.idle = output.answered >= this.lastMessageSeq;
        this.spokeInTurn = false;
      }
      if (output.type === 'message' || output.type === 'file') this.spokeInTurn = true;
      if (output.type === 'error') this.lastError = output.message;
      this.onOutput(this, output); // store first, then delete: a crash in between replays, and the outbox dedupes
      rmSync(file, { force: true });
    }
    return names.length > max;
  }

  /** A runner that stops writing its heartbeat is wedged: kill it so the queue can retry. */
  private armWatchdog(): void {
    const limit = Math.max(4 * this.deps.config.heartbeatMs, 10_000);
    this.watchdog = setInterval(() => {
      let last = this.startedAt;
      try {
        last = Math.max(last, statSync(join(this.dir, HEARTBEAT_FILE)).mtimeMs);
      } catch {
        // not written yet
      }
      if (Date.now() - last > limit) this.fail(`no heartbeat for ${Math.round((Date.now() - last) / 1000)} s`);
    }, this.deps.config.heartbeatMs);
    this.watchdog.unref();
  }

  private async cleanup(): Promise<void> {
    this.ended = true;
    clearInterval(this.watchdog);
    clearTimeout(this.closeDeadline);
    this.stopWatching?.();
    this.board.remove(this.id);
    await Promise.all(this.closers.map((close) => close()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

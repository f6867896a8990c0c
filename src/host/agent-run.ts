import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { listReady, watchDir, writeJsonAtomic } from '../ipc/files.js';
import { GROUP_MOUNT, IPC_MOUNT, MODEL_SOCKET, seqName, type Input, type Output, type StartRequest } from '../ipc/protocol.js';
import type { SandboxHandle, SandboxRuntime, SandboxSpec } from '../sandbox/runtime.js';
import type { Group } from '../store/store.js';
import { startModelProxy } from './model-proxy.js';
import { ensureSandboxDir, findUp, type DataPaths } from './paths.js';

/** The project root (from src/ under tests, from dist/src/ when built): the runner's compiled code and its
 * node_modules are mounted read-only from here. */
export const APP_ROOT = findUp(dirname(fileURLToPath(import.meta.url)), 'package.json');

export interface RunDeps {
  config: Config;
  paths: DataPaths;
  runtime: SandboxRuntime;
  log: Logger;
  /** Labels shared by every sandbox of this install (orphan cleanup matches them). */
  installLabels: Record<string, string>;
  /** Directory for the per-run model proxy sockets (kept short: Unix socket paths max out at 108 bytes). */
  socketDir: string;
}

export interface RunExit {
  ok: boolean;
  error?: string;
}


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
  private closeProxy: (() => Promise<void>) | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private lastError: string | undefined;
  private ended = false;
  private readonly startedAt = Date.now();
  /** Highest message id fed into this run. */
  lastSentMessage: number;
  /** A result came back and nothing new has been fed in since. */
  idle = false;
  /** The agent said something (send_message) in the turn now in flight: a retry could answer twice. */
  spokeInTurn = false;
  /** Its conversation was cleared: it finishes its turn but takes no new messages. */
  retired = false;
  /** Input seqs that were slash commands (/compact), whose turns end without a reply of their own. */
  private readonly commandInputs = new Set<number>();
  readonly dir: string;
  readonly sandboxName: string;

  constructor(
    private readonly deps: RunDeps,
    readonly id: string,
    readonly group: Group,
    private readonly onOutput: (run: AgentRun, output: Output) => void,
    firstMessage: number,
  ) {
    this.dir = deps.paths.run(id);
    this.sandboxName = `carapace-${group.folder}-${id}`;
    this.lastSentMessage = firstMessage;
    // Exists from the start, so follow-ups can be piped in while the sandbox is still starting.
    for (const dir of [this.dir, join(this.dir, 'in'), join(this.dir, 'out')]) ensureSandboxDir(dir, deps.config.sandbox);
  }

  /** Start the sandbox with the first prompt. Resolves once it is running; `finished` says how it ended. */
  async start(prompt: string, sessionId: string | undefined): Promise<Promise<RunExit>> {
    if (prompt.startsWith('/')) this.commandInputs.add(0);
    const { config, paths, runtime, log } = this.deps;
    const owner = config.sandbox;
    const groupDir = ensureSandboxDir(paths.group(this.group.folder), owner);
    const stateDir = ensureSandboxDir(paths.agentState(this.group.folder), owner);

    try {
      const token = randomBytes(24).toString('base64url');
      const socketPath = join(this.deps.socketDir, `${this.id}.sock`);
      const proxy = await startModelProxy({
        socketPath,
        token,
        upstreamUrl: config.upstreamUrl,
        credentials: config.credentials,
        log: log.child({ run: this.id }),
      });
      this.closeProxy = proxy.close;

      const request: StartRequest = {
        runId: this.id,
        chatId: this.group.chatId,
        groupFolder: this.group.folder,
        isMain: this.group.isMain,
        assistantName: config.assistantName,
        sessionId,
        prompt,
        timeZone: config.timeZone,
        model: config.model,
        proxyToken: token,
        idleTimeoutMs: config.idleTimeoutMs,
        heartbeatMs: config.heartbeatMs,
        cliEnv: config.cliEnv,
      };
      writeJsonAtomic(join(this.dir, 'start.json'), request);

      const spec: SandboxSpec = {
        name: this.sandboxName,
        labels: { ...this.deps.installLabels, 'carapace.group': this.group.folder, 'carapace.run': this.id },
        mounts: [
          { host: groupDir, sandbox: GROUP_MOUNT, readonly: false },
          { host: stateDir, sandbox: '/home/agent/.claude', readonly: false },
          // Everyone reads global memory; only main may change it.
          { host: paths.globalMemory, sandbox: '/workspace/global', readonly: !this.group.isMain },
          { host: this.dir, sandbox: IPC_MOUNT, readonly: false },
          { host: socketPath, sandbox: MODEL_SOCKET, readonly: true },
          { host: join(APP_ROOT, 'dist'), sandbox: '/app/dist', readonly: true },
          { host: join(APP_ROOT, 'node_modules'), sandbox: '/app/node_modules', readonly: true },
          { host: join(APP_ROOT, 'package.json'), sandbox: '/app/package.json', readonly: true },
        ],
        workdir: GROUP_MOUNT,
        env: {
          PATH: '/usr/local/bin:/usr/bin:/bin',
          HOME: '/home/agent',
          CLAUDE_CONFIG_DIR: '/home/agent/.claude',
          LANG: 'C.UTF-8',
          TZ: config.timeZone,
        },
        user: { uid: owner.uid, gid: owner.gid },
        network: { mode: 'none' },
        limits: {
          memoryMb: config.sandbox.memoryMb,
          pids: config.sandbox.pids,
          cpus: config.sandbox.cpus,
          wallClockMs: config.runTimeoutMs,
        },
        command: ['node', '/app/dist/src/runner/main.js'],
      };

      this.handle = await runtime.start(spec);
    } catch (err) {
      await this.cleanup(); // no half-started run leaves a socket or directory behind
      throw err;
    }
    const out = log.child({ run: this.id, group: this.group.folder, stream: 'sandbox' });
    let tail = '';
    this.handle.output.on('data', (chunk: Buffer) => {
      const text = (tail + chunk.toString()).split('\n');
      tail = text.pop() ?? '';
      for (const line of text) if (line.trim()) out.debug(line);
    });

    this.stopWatching = watchDir(join(this.dir, 'out'), () => this.drainOutputs(), 2000);
    this.armWatchdog();
    return this.handle.exited.then(async (exit) => {
      this.drainOutputs(); // whatever the runner wrote last
      await this.cleanup();
      const ok = exit.code === 0 && !this.lastError;
      const error = ok ? undefined : (this.lastError ?? `sandbox exited with ${exit.signal ?? `code ${exit.code}`}`);
      return { ok, error };
    });
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
  }

  /** Kill the sandbox (crash, shutdown, lost heartbeat). */
  async stop(reason: string): Promise<void> {
    this.lastError ??= reason;
    await this.handle?.stop(1000);
  }

  private writeInput(seq: number, input: Input): void {
    if (this.ended) return; // nobody is listening any more
    writeJsonAtomic(join(this.dir, 'in', seqName(seq)), input);
  }

  private drainOutputs(): void {
    const outDir = join(this.dir, 'out');
    let names: string[];
    try {
      names = listReady(outDir);
    } catch {
      return; // run dir already cleaned up
    }
    for (const name of names) {
      const file = join(outDir, name);
      let output: Output;
      try {
        output = JSON.parse(readFileSync(file, 'utf8')) as Output;
      } catch (err) {
        this.deps.log.warn({ run: this.id, file: name, err: (err as Error).message }, 'unreadable run output skipped');
        rmSync(file, { force: true });
        continue;
      }
      if (output.type === 'result') {
        this.idle = output.answered >= this.lastMessageSeq;
        this.spokeInTurn = false;
      }
      if (output.type === 'message' || output.type === 'file') this.spokeInTurn = true;
      if (output.type === 'error') this.lastError = output.message;
      this.onOutput(this, output); // store first, then delete: a crash in between replays, and the outbox dedupes
      rmSync(file, { force: true });
    }
  }

  /** A runner that stops writing its heartbeat is wedged: kill it so the queue can retry. */
  private armWatchdog(): void {
    const limit = Math.max(4 * this.deps.config.heartbeatMs, 10_000);
    this.watchdog = setInterval(() => {
      let last = this.startedAt;
      try {
        last = Math.max(last, statSync(join(this.dir, 'heartbeat')).mtimeMs);
      } catch {
        // not written yet
      }
      if (Date.now() - last > limit) void this.stop(`no heartbeat for ${Math.round((Date.now() - last) / 1000)} s`);
    }, this.deps.config.heartbeatMs);
    this.watchdog.unref();
  }

  private async cleanup(): Promise<void> {
    this.ended = true;
    clearInterval(this.watchdog);
    this.stopWatching?.();
    await this.closeProxy?.();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

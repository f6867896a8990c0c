// The agent runner: the program that runs inside a sandbox. It reads its start request from the mounted run
// directory, runs the Claude Agent SDK with a streaming prompt, takes follow-up messages while it lives, and
// reports every result, tool effect and a heartbeat back through files.
import { query, type HookCallback, type SDKUserMessage } from '@anthropic-ai/claude-agent-sdk';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EGRESS_SOCKET, GROUP_MOUNT, HEARTBEAT_FILE, IPC_MOUNT, MODEL_SOCKET, seqName, type Input, type OutputBody, type StartRequest } from '../ipc/protocol.js';
import { listReady, watchDir, writeAtomic, writeJsonAtomic } from '../ipc/files.js';
import { startSocketBridge } from './socket-bridge.js';
import { createCarapaceTools } from './tools/index.js';
import { PromptStream } from './prompt-stream.js';
import { TeamWatcher } from './team.js';
import { archiveTranscript } from '../memory/transcript.js';

const GLOBAL_MEMORY_DIR = '/workspace/global';
const ipc = process.env.CARAPACE_IPC_DIR ?? IPC_MOUNT;
const start = JSON.parse(readFileSync(join(ipc, 'start.json'), 'utf8')) as StartRequest;

let outSeq = 0;
function emit(output: OutputBody): void {
  const seq = ++outSeq;
  writeJsonAtomic(join(ipc, 'out', seqName(seq)), { ...output, seq });
}

const HOST_ANSWER_TIMEOUT_MS = 30_000;
const awaiting = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let requestCounter = 0;

/** Ask the host something (a tool that reads or changes host state) and wait for the answer. */
function request(op: string, args: unknown): Promise<unknown> {
  const id = `q${++requestCounter}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      awaiting.delete(id);
      reject(new Error(`the host did not answer ${op} within ${HOST_ANSWER_TIMEOUT_MS / 1000} s`));
    }, HOST_ANSWER_TIMEOUT_MS);
    const settle = <T>(fn: (v: T) => void) => (v: T) => {
      clearTimeout(timer);
      awaiting.delete(id);
      fn(v);
    };
    awaiting.set(id, { resolve: settle(resolve), reject: settle(reject) });
    emit({ type: 'request', id, op, args });
  });
}

function heartbeat(): void {
  writeAtomic(join(ipc, HEARTBEAT_FILE), String(Date.now()));
}

// Turns are strictly sequential: a follow-up that arrives mid-turn waits for the turn's result, so each result
// answers exactly the inputs fed into its turn and the host can mark precisely those messages as answered.
const prompt = new PromptStream();
const pending: { seq: number; text: string }[] = start.prompt === undefined ? [] : [{ seq: 0, text: start.prompt }];
let turnAnswers: number | undefined; // highest input seq of the turn in flight
let closing = false;
let idleTimer: NodeJS.Timeout | undefined;

/** A slash command (/compact) is a turn of its own; ordinary inputs that queued up share one turn. */
const isCommand = (text: string) => text.startsWith('/');

function pump(): void {
  if (turnAnswers !== undefined) return;
  if (pending.length > 0) {
    clearTimeout(idleTimer);
    const firstCommand = pending.findIndex((p) => isCommand(p.text));
    const batch = pending.splice(0, firstCommand === 0 ? 1 : firstCommand > 0 ? firstCommand : pending.length);
    turnAnswers = batch.at(-1)!.seq;
    prompt.push(batch.map((b) => b.text).join('\n'));
  } else if (closing) {
    prompt.end();
  } else {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      closing = true;
      pump();
    }, start.idleTimeoutMs);
  }
}

function readInputs(): void {
  const inDir = join(ipc, 'in');
  for (const name of listReady(inDir)) {
    const file = join(inDir, name);
    try {
      const input = JSON.parse(readFileSync(file, 'utf8')) as Input;
      if (input.type === 'message') pending.push({ seq: input.seq, text: input.text });
      else if (input.type === 'close') closing = true;
      else if (input.type === 'response') {
        const waiter = awaiting.get(input.id);
        if (input.ok) waiter?.resolve(input.result);
        else waiter?.reject(new Error(input.error));
      }
    } catch (err) {
      emit({ type: 'error', message: `unreadable input ${name}: ${(err as Error).message}` });
    }
    rmSync(file, { force: true });
  }
  pump();
}

const AUDIT_CHARS = 400;
const clip = (v: unknown) => {
  const text = typeof v === 'string' ? v : JSON.stringify(v) ?? '';
  return text.length > AUDIT_CHARS ? `${text.slice(0, AUDIT_CHARS)}…` : text;
};

/** One line per tool call on stderr, which the host logs as the agent's audit trail. */
const audit: HookCallback = async (input) => {
  if (input.hook_event_name === 'PostToolUse' || input.hook_event_name === 'PostToolUseFailure') {
    const failed = input.hook_event_name === 'PostToolUseFailure';
    const outcome = failed ? input.error : input.tool_response;
    console.error(`AUDIT ${JSON.stringify({ name: input.tool_name, input: clip(input.tool_input), ok: !failed, result: clip(outcome) })}`);
  }
  return {};
};

/** Before the SDK compacts (on /compact or when the context fills up), keep the full conversation readable. */
const archiveBeforeCompaction: HookCallback = async (input) => {
  try {
    const file = archiveTranscript(input.transcript_path, GROUP_MOUNT, input.session_id);
    console.error(`transcript archived to ${file}`);
  } catch (err) {
    console.error(`could not archive the transcript: ${(err as Error).message}`);
  }
  return {};
};

interface Bridges {
  model: string;
  egress: string;
}

/** The CLI's environment: the run token in place of a credential, and every way out through the host's proxies. */
function cliEnv(bridges: Bridges): Record<string, string> {
  const credential: Record<string, string> =
    start.authMode === 'oauth' ? { CLAUDE_CODE_OAUTH_TOKEN: start.proxyToken } : { ANTHROPIC_API_KEY: start.proxyToken };
  const proxy = bridges.egress;
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? '/home/agent',
    CLAUDE_CONFIG_DIR: process.env.CLAUDE_CONFIG_DIR ?? '/home/agent/.claude',
    TZ: start.timeZone,
    ANTHROPIC_BASE_URL: bridges.model,
    ...credential,
    // Web access (the CLI's WebFetch, curl, pip, npm… in Bash) goes through the egress proxy; loopback stays direct.
    HTTPS_PROXY: proxy,
    HTTP_PROXY: proxy,
    https_proxy: proxy,
    http_proxy: proxy,
    NO_PROXY: '127.0.0.1,localhost,::1',
    no_proxy: '127.0.0.1,localhost,::1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    IS_SANDBOX: '1',
    CLAUDE_CODE_EXPERIMENTAL_AGENT_TEAMS: '1', // let the lead spawn a team of agents
    CLAUDE_CODE_ADDITIONAL_DIRECTORIES_CLAUDE_MD: '1', // global memory loads like the group's own
    ...start.cliEnv,
  };
}

async function runQuery(resume: string | undefined, bridges: Bridges): Promise<void> {
  const team = new TeamWatcher(GROUP_MOUNT);
  const messages = query({
    prompt: prompt as AsyncIterable<SDKUserMessage>,
    options: {
      cwd: GROUP_MOUNT,
      resume,
      model: start.model,
      permissionMode: 'bypassPermissions',
      allowDangerouslySkipPermissions: true,
      settingSources: ['project'], // the group folder's CLAUDE.md and .claude/ — nothing from the host
      additionalDirectories: [GLOBAL_MEMORY_DIR],
      hooks: {
        PreCompact: [{ hooks: [archiveBeforeCompaction] }],
        PostToolUse: [{ hooks: [audit] }],
        PostToolUseFailure: [{ hooks: [audit] }],
      },
      systemPrompt: { type: 'preset', preset: 'claude_code', append: systemAppend() },
      mcpServers: { carapace: createCarapaceTools({ emit, request, start }) },
      // The host's egress allowlist decides which sites are reachable; the CLI's own preflight would need claude.ai.
      settings: { skipWebFetchPreflight: true },
      env: cliEnv(bridges),
    },
  });
  for await (const message of messages) {
    for (const { role, text } of team.observe(message)) emit({ type: 'message', text, sender: role });
    if (message.type === 'system' && message.subtype === 'init') {
      emit({ type: 'session', sessionId: message.session_id });
    } else if (message.type === 'result') {
      // An API failure arrives as an error result just before the iterator throws: never send it as a reply.
      if (message.is_error) {
        throw new Error(message.subtype === 'success' ? message.result : `${message.subtype}: ${message.errors.join('; ')}`);
      }
      const text = message.subtype === 'success' ? message.result : '';
      emit({ type: 'result', text, answered: turnAnswers ?? -1 });
      turnAnswers = undefined;
      pump();
    }
  }
}

function systemAppend(): string {
  return [
    `You are ${start.assistantName}, a personal assistant talking with people in a chat.`,
    `Messages arrive as <messages> with sender and local time; the user's timezone is ${start.timeZone}.`,
    'A <scheduled_task> is a task you scheduled (schedule_task) coming due, not the user speaking.',
    'Your final reply of each turn is sent to the chat. Use the send_message tool to send something right away',
    'while you keep working. Put private reasoning inside <internal>…</internal>; it is never sent.',
    'Your working directory is your own folder; CLAUDE.md in it is your memory.',
    `Memory shared by all chats is in /workspace/global/CLAUDE.md (${start.isMain ? 'you may edit it' : 'read-only here'}).`,
    'Web access goes through a proxy that only allows the sites on this chat\'s list; if a site is blocked, say so.',
  ].join('\n');
}

async function main(): Promise<void> {
  const model = await startSocketBridge(process.env.CARAPACE_MODEL_SOCKET ?? MODEL_SOCKET);
  const egress = await startSocketBridge(process.env.CARAPACE_EGRESS_SOCKET ?? EGRESS_SOCKET);
  const bridges = { model: model.url, egress: egress.url };
  heartbeat();
  const beat = setInterval(heartbeat, start.heartbeatMs);
  const stopWatching = watchDir(join(ipc, 'in'), readInputs, 2000, (err) => console.error(`reading inputs failed: ${(err as Error).message}`));
  pump();
  try {
    try {
      await runQuery(start.sessionId, bridges);
    } catch (err) {
      // A session the CLI no longer has (wiped state dir) is not worth failing the user's message over.
      if (!start.sessionId || !/No conversation found/i.test(String(err))) throw err;
      emit({ type: 'message', text: "(I couldn't find our earlier conversation, so I'm starting a fresh one.)" });
      prompt.replay();
      await runQuery(undefined, bridges);
    }
  } catch (err) {
    emit({ type: 'error', message: (err as Error).message ?? String(err) });
    process.exitCode = 1;
  } finally {
    clearInterval(beat);
    clearTimeout(idleTimer);
    // A host request still open (its tool call was cut short) must not keep the process alive for its timeout.
    for (const waiter of [...awaiting.values()]) waiter.reject(new Error('the run ended before the host answered'));
    stopWatching();
    model.close();
    egress.close();
  }
}

await main();

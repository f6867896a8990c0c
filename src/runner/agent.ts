// The agent itself, loaded by main.ts once Claude Code is booting: runs the Claude Agent SDK with a streaming
// prompt, takes follow-up messages while it lives, and reports every result, tool effect and a heartbeat back
// through files.
import { query, type HookCallback, type SDKUserMessage } from '@anthropic-ai/claude-agent-sdk';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GROUP_MOUNT, HEARTBEAT_FILE, seqName, type Input, type OutputBody } from '../ipc/protocol.js';
import { listReady, watchDir, writeAtomic, writeJsonAtomic } from '../ipc/files.js';
import { CLI_SETTINGS, GLOBAL_MEMORY_DIR, cliEnv, type EarlyCli } from './early-cli.js';
import { ipc, start } from './start.js';
import { createCarapaceTools } from './tools/index.js';
import { PromptStream } from './prompt-stream.js';
import { TeamWatcher } from './team.js';
import { archiveTranscript } from '../memory/transcript.js';

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

async function runQuery(resume: string | undefined, egress: string, early: EarlyCli): Promise<void> {
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
      settings: CLI_SETTINGS,
      env: cliEnv(start, egress),
      pathToClaudeCodeExecutable: early.executable,
      spawnClaudeCodeProcess: early.spawn,
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

interface Socket {
  url: string;
  close(): void;
}

/** Run the agent until it idles out or is closed; `early` is the Claude Code process main.ts started. */
export async function runAgent(egress: Socket, early: EarlyCli): Promise<void> {
  heartbeat();
  const beat = setInterval(heartbeat, start.heartbeatMs);
  const stopWatching = watchDir(join(ipc, 'in'), readInputs, 2000, (err) => console.error(`reading inputs failed: ${(err as Error).message}`));
  pump();
  try {
    try {
      await runQuery(start.sessionId, egress.url, early);
    } catch (err) {
      // A session the CLI no longer has (wiped state dir) is not worth failing the user's message over.
      if (!start.sessionId || !/No conversation found/i.test(String(err))) throw err;
      emit({ type: 'message', text: "(I couldn't find our earlier conversation, so I'm starting a fresh one.)" });
      prompt.replay();
      await runQuery(undefined, egress.url, early);
    }
  } catch (err) {
    emit({ type: 'error', message: (err as Error).message ?? String(err) });
    process.exitCode = 1;
  } finally {
    early.discard();
    clearInterval(beat);
    clearTimeout(idleTimer);
    // A host request still open (its tool call was cut short) must not keep the process alive for its timeout.
    for (const waiter of [...awaiting.values()]) waiter.reject(new Error('the run ended before the host answered'));
    stopWatching();
    egress.close();
  }
}


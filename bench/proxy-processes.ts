// The model proxy bench's other processes, as they are in use: the API upstream (here the fake) in one process,
// the host's model proxy in another, and the sandbox side (bridge and client) in the bench itself — so the
// proxy is measured as one stage of a pipeline, not by the CPU it takes from a fake API sharing its thread.
// `node proxy-processes.js upstream <replyChars> <longChars>` or `… proxy <socketPath> <upstreamUrl> <token>`;
// each sends its address (or "ready") over IPC; the proxy answers "count" with how many calls it metered and
// "cpu" with the CPU time it has used.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pino from 'pino';
import { startModelProxy } from '../src/boundary/model-proxy.js';
import { startFakeAnthropic, text } from '../test/support/fake-anthropic.js';

/** Start this module as a child in `mode`; resolves with the child and its first IPC message. */
export async function startChild(args: string[]): Promise<{ child: ChildProcess; first: string }> {
  const child = fork(fileURLToPath(import.meta.url), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const first = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve(String(m)));
    child.once('exit', (code) => reject(new Error(`bench child ${args[0]} exited with ${code}`)));
  });
  return { child, first };
}

/** Ask a child something over IPC and wait for its answer. */
export function ask(child: ChildProcess, message: string): Promise<string> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(String(m)));
    child.send(message);
  });
}

async function upstream(replyChars: number, longChars: number) {
  let long = false;
  const fake = await startFakeAnthropic({ script: () => ({ content: [text('x'.repeat(long ? longChars : replyChars))] }) });
  process.on('message', (m) => {
    long = m === 'long';
    process.send!('ok');
  });
  process.send!(fake.url);
}

async function proxy(socketPath: string, upstreamUrl: string, token: string) {
  let metered = 0;
  await startModelProxy({
    socketPath,
    token,
    upstreamUrl,
    credentials: { apiKey: 'sk-bench' },
    log: pino({ level: 'silent' }),
    reserve: () => ({ ok: true, ticket: { settle: () => void metered++, release: () => undefined } }),
  });
  // "count": calls metered so far; "cpu": the process's CPU time so far (ms).
  process.on('message', (m) => {
    const { user, system } = process.cpuUsage();
    process.send!(String(m === 'cpu' ? (user + system) / 1000 : metered));
  });
  process.send!('ready');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode, a, b, c] = process.argv.slice(2);
  process.on('disconnect', () => process.exit(0)); // the bench ended
  process.on('SIGTERM', () => process.exit(0)); // exit cleanly (so --cpu-prof writes its profile)
  if (mode === 'upstream') await upstream(Number(a), Number(b));
  else await proxy(a, b, c);
}

import { existsSync } from 'node:fs';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { doctor } from './doctor.js';
import { autoOrder, probeRuntimes, usesImage } from '../sandbox/select.js';
import { localChatToken, startCarapace } from '../app.js';
import { runTerminalChat } from '../channels/local/terminal-chat.js';
import { readPairing } from '../channels/whatsapp/auth.js';
import { readSecurityConfig } from '../groups/group-config.js';
import { budgetState } from '../groups/group-policy.js';
import { dataPaths } from '../fs/paths.js';
import { createLogger, installCrashHandlers } from '../log.js';
import { openDatabase } from '../store/db.js';
import { Store, type UsageTotals } from '../store/store.js';
import { localApiUrl } from './local-api.js';
import { runTaskNow, tasksReport } from './tasks.js';
import { whatsappCommand } from './whatsapp.js';

const USAGE = `carapace — a personal AI assistant whose agents run in sandboxes

Usage:
  carapace start     run the assistant (web chat on 127.0.0.1, see CARAPACE_WEB_PORT)
  carapace chat      talk to the running assistant from this terminal
  carapace status    groups, token usage, runs and pending deliveries
  carapace doctor    which sandbox backends work here, their limits, how to install the missing ones
  carapace image build [--force]
                     build the agent image for Docker/Podman/Apple Container (only if its inputs changed)
  carapace whatsapp pair [--phone <number>]
                     link WhatsApp: scan the QR code shown here (and on the web page),
                     or enter a pairing code on the phone
  carapace whatsapp status | logout
  carapace tasks     scheduled tasks with their next run and last result
  carapace tasks run <id>   run a task once, now (its schedule is unchanged)
  carapace help      this text

Configuration comes from the environment or a .env file; see README.md.`;

async function start(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  installCrashHandlers(log);
  const app = await startCarapace(config, log, { onProgress: (line) => process.stderr.write(`${line}\n`) });
  process.stderr.write(`\nCarapace is running. Chat with ${config.assistantName}:\n  web:      ${app.chatUrl}\n  terminal: npm run chat\n\n`);
  if (app.whatsapp && !readPairing(dataPaths(config.dataDir).whatsappAuth).paired) {
    process.stderr.write('WhatsApp is not paired yet: scan the QR code on the web page, or run `carapace whatsapp pair`.\n\n');
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await app.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

async function chat(): Promise<void> {
  const config = loadConfig(undefined, { requireCredentials: false });
  if (!existsSync(dataPaths(config.dataDir).localToken)) {
    throw new ConfigError(`Carapace has not been started with data directory ${config.dataDir} yet — run \`npm start\` first.`);
  }
  await runTerminalChat({
    url: localApiUrl(config),
    token: localChatToken(config.dataDir),
    input: process.stdin,
    output: process.stdout,
  });
}

/** Run `fn` on the store, or say there is none yet. */
async function withStore(fn: (store: Store, config: Config) => void | Promise<void>): Promise<void> {
  const config = loadConfig(undefined, { requireCredentials: false });
  const file = dataPaths(config.dataDir).db;
  if (!existsSync(file)) {
    console.log(`No data yet at ${config.dataDir}: start Carapace with \`npm start\`.`);
    return;
  }
  const db = openDatabase(file);
  try {
    await fn(new Store(db), config);
  } finally {
    db.close();
  }
}

async function tasks(args: string[]): Promise<void> {
  const [sub, id] = args;
  if (sub === undefined) return withStore((store, config) => console.log(tasksReport(store, config.timeZone)));
  if (sub === 'run' && id) return withStore(async (store, config) => console.log(await runTaskNow(config, store, id)));
  throw new UsageError(`Usage: carapace tasks [run <task id>]`);
}

class UsageError extends Error {}

function status(store: Store, config: Config): void {
  const time = (ms: number | null) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-');
  const n = (x: number) => x.toLocaleString('en-US');
  const tokens = (u: UsageTotals) => `${n(u.inputTokens + u.cacheCreationInputTokens + u.cacheReadInputTokens)} in / ${n(u.outputTokens)} out`;
  console.log('Groups:');
  for (const g of store.listGroups()) {
    const pending = store.messagesAfter(g.chatId, g.cursor).length;
    const { used, limit } = budgetState(store, g.id, readSecurityConfig(g.containerConfig).config.dailyTokenBudget, config.timeZone);
    console.log(`  ${g.isMain ? '*' : ' '} ${g.name} (${g.chatId}) folder=${g.folder} trigger=${g.requiresTrigger ? g.trigger : 'none'} pending=${pending}`);
    console.log(`      tokens today: ${n(used)}${limit === undefined ? ' (no daily budget)' : ` of ${n(limit)} daily budget`}`);
  }
  const running = store.runningRuns();
  console.log(`Runs in progress: ${running.length}`);
  console.log('Recent runs:');
  for (const r of store.recentRuns(10)) {
    const took = r.endedAt ? `${((r.endedAt - r.startedAt) / 1000).toFixed(1)} s` : 'running';
    const usage = store.runUsage(r.id);
    const spent = usage.calls ? ` ${usage.calls} model calls, ${tokens(usage)} tokens` : '';
    console.log(`  ${time(r.startedAt)} ${r.id} group=${r.groupId} ${r.status} (${took})${spent}${r.error ? ` error: ${r.error}` : ''}`);
  }
  console.log(`Replies waiting for delivery: ${store.pendingOutbox().length}`);
}

async function runDoctor(): Promise<void> {
  const report = await doctor(loadConfig(undefined, { requireCredentials: false }));
  console.log(report.text);
  if (!report.ok) process.exitCode = 1;
}

/** `image build`: with the configured engine, or under `auto` the first engine that works here. */
async function imageBuild(args: string[]): Promise<void> {
  const unknown = args.filter((a) => a !== '--force');
  if (unknown.length) throw new ConfigError(`Unknown option ${unknown[0]} for \`carapace image build\` (only --force).`);
  const config = loadConfig(undefined, { requireCredentials: false });
  if (config.runtime === 'bwrap')
    throw new ConfigError('CARAPACE_RUNTIME=bwrap runs no image; set CARAPACE_RUNTIME=docker, podman or apple to pick the engine to build with.');
  const kinds = config.runtime === 'auto' ? autoOrder().filter((k) => k !== 'bwrap') : [config.runtime];
  const probed = await probeRuntimes(kinds, { stateDir: dataPaths(config.dataDir).sandboxState, image: config.image });
  const engine = probed.find((p) => p.availability.ok)?.runtime;
  if (!engine || !usesImage(engine)) {
    const why = probed.map((p) => `  ${p.runtime.kind}: ${(p.availability as { reason: string }).reason}`).join('\n');
    throw new Error(`no container engine works here:\n${why}`);
  }
  const t0 = performance.now();
  const { tag, built } = await engine.ensureImage((line) => process.stderr.write(`${line}\n`), args.includes('--force'));
  console.log(built ? tag : `${tag} is up to date (checked in ${((performance.now() - t0) / 1000).toFixed(1)} s; --force rebuilds it)`);
}

export async function main(argv: string[]): Promise<void> {
  const [command = 'help', ...rest] = argv;
  try {
    if (command === 'start') await start();
    else if (command === 'chat') await chat();
    else if (command === 'status') await withStore(status);
    else if (command === 'doctor') await runDoctor();
    else if (command === 'image' && rest[0] === 'build') await imageBuild(rest.slice(1));
    else if (command === 'tasks') await tasks(rest);
    else if (command === 'whatsapp') {
      const config = loadConfig(undefined, { requireCredentials: false });
      process.exitCode = await whatsappCommand(argv.slice(1), { config, out: process.stdout });
    }
    else if (command === 'help' || command === '--help' || command === '-h') console.log(USAGE);
    else {
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      process.exitCode = 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) console.error(`Configuration problem: ${err.message}`);
    else if (err instanceof UsageError) console.error(err.message);
    else console.error(`carapace ${command} failed: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}

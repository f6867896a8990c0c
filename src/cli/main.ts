import { existsSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config.js';
import { doctor } from './doctor.js';
import { autoOrder, probeRuntimes, usesImage } from '../sandbox/select.js';
import { localChatToken, startCarapace } from '../app.js';
import { runTerminalChat } from '../channels/local/terminal-chat.js';
import { dataPaths } from '../host/paths.js';
import { createLogger } from '../log.js';
import { openDatabase } from '../store/db.js';
import { Store } from '../store/store.js';

const USAGE = `carapace — a personal AI assistant whose agents run in sandboxes

Usage:
  carapace start     run the assistant (web chat on 127.0.0.1, see CARAPACE_WEB_PORT)
  carapace chat      talk to the running assistant from this terminal
  carapace status    groups, runs and pending deliveries
  carapace doctor    which sandbox backends work here, their limits, how to install the missing ones
  carapace image build [--force]
                     build the agent image for Docker/Podman/Apple Container (only if its inputs changed)
  carapace help      this text

Configuration comes from the environment or a .env file; see README.md.`;

async function start(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const app = await startCarapace(config, log, { onProgress: (line) => process.stderr.write(`${line}\n`) });
  process.stderr.write(`\nCarapace is running. Chat with ${config.assistantName}:\n  web:      ${app.chatUrl}\n  terminal: npm run chat\n\n`);
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
  const host = config.web.host.includes(':') ? `[${config.web.host}]` : config.web.host;
  await runTerminalChat({
    url: `http://${host}:${config.web.port}/`,
    token: localChatToken(config.dataDir),
    input: process.stdin,
    output: process.stdout,
  });
}

function status(): void {
  const config = loadConfig(undefined, { requireCredentials: false });
  const file = dataPaths(config.dataDir).db;
  if (!existsSync(file)) {
    console.log(`No data yet at ${config.dataDir}: start Carapace with \`npm start\`.`);
    return;
  }
  const db = openDatabase(file);
  const store = new Store(db);
  const time = (ms: number | null) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-');
  console.log('Groups:');
  for (const g of store.listGroups()) {
    const pending = store.messagesAfter(g.chatId, g.cursor).length;
    console.log(`  ${g.isMain ? '*' : ' '} ${g.name} (${g.chatId}) folder=${g.folder} trigger=${g.requiresTrigger ? g.trigger : 'none'} pending=${pending}`);
  }
  const running = store.runningRuns();
  console.log(`Runs in progress: ${running.length}`);
  console.log('Recent runs:');
  for (const r of store.recentRuns(10)) {
    const took = r.endedAt ? `${((r.endedAt - r.startedAt) / 1000).toFixed(1)} s` : 'running';
    console.log(`  ${time(r.startedAt)} ${r.id} group=${r.groupId} ${r.status} (${took})${r.error ? ` error: ${r.error}` : ''}`);
  }
  console.log(`Replies waiting for delivery: ${store.pendingOutbox().length}`);
  db.close();
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
    else if (command === 'status') status();
    else if (command === 'doctor') await runDoctor();
    else if (command === 'image' && rest[0] === 'build') await imageBuild(rest.slice(1));
    else if (command === 'help' || command === '--help' || command === '-h') console.log(USAGE);
    else {
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      process.exitCode = 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) console.error(`Configuration problem: ${err.message}`);
    else console.error(`carapace ${command} failed: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}

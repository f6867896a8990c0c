// Claude Code needs ~0.3 s to boot, and loading the SDK and the runner's tools takes ~0.2 s before query() would
// start it. So the runner starts Claude Code first, with the command line the SDK is about to ask for, and hands
// that process over when the SDK asks. If the SDK asks for anything else (a newer SDK, another option), the early
// process is stopped and the SDK's own request is started: a slower start, never a different one.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { SpawnedProcess, SpawnOptions } from '@anthropic-ai/claude-agent-sdk';
import { GROUP_MOUNT, MODEL_SOCKET } from '../ipc/mounts.js';
import type { StartRequest } from '../ipc/protocol.js';

export const GLOBAL_MEMORY_DIR = '/workspace/global';
/** Settings the runner gives the CLI; the host's egress allowlist decides reachability, so no preflight to claude.ai. */
export const CLI_SETTINGS = { skipWebFetchPreflight: true };

interface Launch {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

const require = createRequire(import.meta.url);
const SDK_PACKAGE = '@anthropic-ai/claude-agent-sdk';

/** The native Claude Code binary of this platform, the glibc build first as the SDK picks it. */
export function claudeBinary(): string {
  const base = `${SDK_PACKAGE}-${process.platform}-${process.arch}`;
  try {
    return require.resolve(`${base}/claude`);
  } catch {
    return require.resolve(`${base}-musl/claude`);
  }
}

/**
 * The CLI's environment: the run token in place of a credential, and every way out through the host's proxies.
 * Model calls go straight to the model proxy's socket (ANTHROPIC_UNIX_SOCKET), so the base URL's host is never
 * dialled; `egress` is the loopback bridge to the egress proxy, for everything else that speaks HTTP.
 */
export function cliEnv(start: StartRequest, egress: string): Record<string, string> {
  const credential: Record<string, string> =
    start.authMode === 'oauth' ? { CLAUDE_CODE_OAUTH_TOKEN: start.proxyToken } : { ANTHROPIC_API_KEY: start.proxyToken };
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? '/home/agent',
    CLAUDE_CONFIG_DIR: process.env.CLAUDE_CONFIG_DIR ?? '/home/agent/.claude',
    TZ: start.timeZone,
    ANTHROPIC_BASE_URL: 'http://localhost',
    ANTHROPIC_UNIX_SOCKET: MODEL_SOCKET,
    ...credential,
    // Web access (the CLI's WebFetch, curl, pip, npm… in Bash) goes through the egress proxy; loopback stays direct.
    HTTPS_PROXY: egress,
    HTTP_PROXY: egress,
    https_proxy: egress,
    http_proxy: egress,
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

/** What the SDK (this version) spawns for the runner's options: its flags in its order, its own env markers. */
function expectedLaunch(start: StartRequest, egress: string): Launch {
  const sdkVersion = JSON.parse(readFileSync(join(dirname(require.resolve(SDK_PACKAGE)), 'package.json'), 'utf8')).version;
  const args = ['--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json', `--model=${start.model}`];
  if (start.sessionId) args.push(`--resume=${start.sessionId}`);
  args.push('--setting-sources=project', '--permission-mode=bypassPermissions', '--allow-dangerously-skip-permissions');
  args.push(`--add-dir=${GLOBAL_MEMORY_DIR}`, '--settings', JSON.stringify(CLI_SETTINGS));
  const env = {
    ...cliEnv(start, egress),
    CLAUDE_CODE_ENTRYPOINT: 'sdk-ts',
    CLAUDE_AGENT_SDK_VERSION: String(sdkVersion),
    CLAUDE_CODE_SDK_READS_SESSION_STATE: '1',
  };
  return { command: claudeBinary(), args, cwd: GROUP_MOUNT, env };
}

function spawnCli(launch: Launch, signal?: AbortSignal): ChildProcessWithoutNullStreams {
  const child = spawn(launch.command, launch.args, { cwd: launch.cwd, env: launch.env, stdio: ['pipe', 'pipe', 'pipe'], signal });
  // The CLI's own complaints reach the host's log through the runner's stderr.
  child.stderr.pipe(process.stderr, { end: false });
  child.on('error', () => {}); // a failed spawn surfaces to the SDK as the process's exit
  return child;
}

export interface EarlyCli {
  /** The binary started early, for the SDK's `pathToClaudeCodeExecutable`; unset when none could be found. */
  readonly executable?: string;
  /** Handed to the SDK as `spawnClaudeCodeProcess`. */
  spawn(options: SpawnOptions): SpawnedProcess;
  /** Stop the early process if the SDK never took it. */
  discard(): void;
}

/** What to start early; none when the binary or the SDK's version cannot be found (the SDK then says why). */
function plannedLaunch(start: StartRequest, egress: string): Launch | undefined {
  try {
    return expectedLaunch(start, egress);
  } catch (err) {
    console.error(`Claude Code was not started early: ${(err as Error).message}`);
    return undefined;
  }
}

/** Start Claude Code now for the run's first query(). */
export function startEarlyCli(start: StartRequest, egress: string): EarlyCli {
  const launch = plannedLaunch(start, egress);
  let early: ChildProcessWithoutNullStreams | undefined = launch && spawnCli(launch);
  return {
    executable: launch?.command,
    spawn(options) {
      const candidate = early;
      early = undefined;
      const wanted: Launch = { command: options.command, args: options.args, cwd: options.cwd ?? '', env: options.env as Record<string, string> };
      if (candidate && candidate.exitCode === null && candidate.signalCode === null && isDeepStrictEqual(wanted, launch)) {
        console.error('Claude Code was started early and taken by the SDK');
        options.signal?.addEventListener('abort', () => candidate.kill('SIGTERM'), { once: true });
        return candidate;
      }
      if (candidate) {
        candidate.kill('SIGKILL');
        console.error('the early Claude Code process was not used: the SDK asked for a different one');
      }
      return spawnCli(wanted, options.signal);
    },
    discard() {
      early?.kill('SIGKILL');
      early = undefined;
    },
  };
}

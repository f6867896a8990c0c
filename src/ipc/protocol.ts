// The file protocol between the host and the agent runner inside a sandbox. One directory per run, mounted
// read-only at /ipc with its in/ and out/ mounted writable on top: the host writes start.json and in/*, the
// runner writes out/* and out/heartbeat. The sandbox cannot rename or replace in/ or out/ themselves.
// Every file is written to a dot-temp name and renamed, so a reader never sees half a file.
import { z } from 'zod';
import { SESSION_ID } from '../fs/paths.js';

export { EGRESS_SOCKET, GROUP_MOUNT, IPC_MOUNT, MODEL_SOCKET } from './mounts.js';
/** Written by the runner (not .json, so never taken for an output). */
export const HEARTBEAT_FILE = 'out/heartbeat';
/** Largest output file the host reads; anything bigger is moved aside unread. */
export const MAX_OUTPUT_BYTES = 1024 * 1024;
/** Largest file the send_file tool may send. */
export const MAX_SEND_FILE_BYTES = 64 * 1024 * 1024;

export interface StartRequest {
  runId: string;
  chatId: string;
  groupFolder: string;
  isMain: boolean;
  assistantName: string;
  /** SDK session to resume; absent for a fresh conversation. */
  sessionId?: string;
  /** First turn's prompt (input seq 0); absent for a sandbox started ahead of a due task, which waits for input. */
  prompt?: string;
  timeZone: string;
  model: string;
  /** Per-run secret the model proxy accepts; it is worth nothing outside this run. */
  proxyToken: string;
  /** How the CLI presents the token: as an API key, or as an OAuth token (so it speaks the OAuth dialect). */
  authMode: 'apiKey' | 'oauth';
  idleTimeoutMs: number;
  heartbeatMs: number;
  /** Extra environment for the Claude Code CLI (e.g. retry settings); never credentials. */
  cliEnv: Record<string, string>;
}

/** Host → runner, in/<seq>.json. */
export type Input =
  | { type: 'message'; seq: number; text: string }
  | { type: 'close' }
  /** The host's answer to a runner `request`. */
  | { type: 'response'; id: string; ok: true; result: unknown }
  | { type: 'response'; id: string; ok: false; error: string };

const seq = z.number().int().nonnegative();

/**
 * Runner → host, out/<seq>.json; `seq` is unique within the run and orders outputs. The host checks every file
 * against this schema (the sandbox writes them), and the types below come from it, so the two cannot drift.
 */
export const outputSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('session'), seq, sessionId: z.string().regex(SESSION_ID) }),
  /** End of a turn. `answered` is the highest input seq this turn consumed. */
  z.object({ type: z.literal('result'), seq, text: z.string(), answered: z.number().int() }),
  /** A send_message tool call or a team member's result: delivered at once, mid-turn, under `sender` if set. */
  z.object({ type: z.literal('message'), seq, text: z.string().min(1), sender: z.string().min(1).max(255).optional() }),
  z.object({ type: z.literal('error'), seq, message: z.string() }),
  /** A send_file tool call: `path` is inside the group folder (absolute under GROUP_MOUNT, or relative to it). */
  z.object({ type: z.literal('file'), seq, path: z.string().min(1).max(4096), caption: z.string().max(4096).optional() }),
  /**
   * A tool that needs the host (list or change groups, tasks…). The host authorizes it by the run it came
   * from — never by anything in `args` — and answers with a `response` input carrying the same id.
   */
  z.object({ type: z.literal('request'), seq, id: z.string().min(1).max(100), op: z.string().min(1).max(100), args: z.unknown() }),
]);
export type Output = z.infer<typeof outputSchema>;
/** What the runner hands to `emit`; the seq is added when the file is written. */
export type OutputBody = Output extends infer O ? (O extends unknown ? Omit<O, 'seq'> : never) : never;

export const seqName = (seq: number) => `${String(seq).padStart(8, '0')}.json`;

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Logger } from 'pino';
import type { DataPaths } from '../fs/paths.js';
import { AgentTree, UnsafePathError, type Owner } from '../fs/safe-write.js';

/** Bigger transcripts are not archived by /clear (the raw one stays in the group's state). */
const MAX_TRANSCRIPT_BYTES = 64 * 1024 * 1024;

interface TranscriptLine {
  type?: string;
  timestamp?: string;
  isMeta?: boolean;
  message?: { role?: string; content?: unknown };
}

/** Render a Claude Code session transcript (JSONL) as Markdown a person can read. */
export function transcriptToMarkdown(jsonl: string, title: string): string {
  const parts = [`# ${title}\n`];
  for (const raw of jsonl.split('\n')) {
    if (!raw.trim()) continue;
    let line: TranscriptLine;
    try {
      line = JSON.parse(raw);
    } catch {
      continue; // a torn last line of a live transcript
    }
    if ((line.type !== 'user' && line.type !== 'assistant') || line.isMeta || !line.message) continue;
    const text = render(line.message.content);
    if (!text) continue;
    const who = line.type === 'user' ? 'User' : 'Assistant';
    parts.push(`## ${who}${line.timestamp ? ` — ${line.timestamp}` : ''}\n\n${text}\n`);
  }
  return parts.join('\n');
}

function render(content: unknown): string {
  if (typeof content === 'string') return clean(content);
  if (!Array.isArray(content)) return '';
  return content
    .map((b) => {
      if (b?.type === 'text') return clean(b.text);
      if (b?.type === 'tool_use') return `*[used ${b.name}]*`;
      return ''; // tool results and thinking stay in the raw transcript
    })
    .filter(Boolean)
    .join('\n\n');
}

const clean = (text: string) => String(text).replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, '').trim();

/**
 * Archive a transcript into `groupDir`/conversations; returns the archive's path. Runs inside the sandbox
 * (before the SDK compacts), on the agent's own files: the host uses archiveOnClear.
 */
export function archiveTranscript(transcriptPath: string, groupDir: string, sessionId: string, now = new Date()): string {
  const dir = join(groupDir, 'conversations');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, archiveName(sessionId, now));
  writeFileSync(file, transcriptToMarkdown(readFileSync(transcriptPath, 'utf8'), archiveTitle(sessionId, now)));
  return file;
}

const archiveName = (sessionId: string, now: Date) => `${now.toISOString().replace(/[:]/g, '-').replace(/\..*$/, '')}-${sessionId.slice(0, 8)}.md`;
const archiveTitle = (sessionId: string, now: Date) => `Conversation ${sessionId} (archived ${now.toISOString()})`;

export interface ArchiveRequest {
  paths: DataPaths;
  /** The group's own folder name: where its session state is. */
  folder: string;
  /** The folder the readable copy goes into (a thread's is its parent's); `folder` when not given. */
  workspace?: string;
  sessionId: string;
  /** The sandbox user, who owns the copy in conversations/. */
  owner: Owner;
  log: Logger;
  now?: Date;
}

/**
 * /clear: render the session's transcript (read from the agent's state without following anything it planted)
 * into the group's conversations/ through the safe path, or, when that is refused, into a host-only archive.
 * Returns the sentence the chat is told: where it was saved, why not, or nothing when there was no transcript.
 */
export function archiveOnClear({ paths, folder, workspace = folder, sessionId, owner, log, now = new Date() }: ArchiveRequest): string {
  const state = paths.agentState(folder);
  let jsonl: string;
  try {
    jsonl = new AgentTree(state).read(relative(state, paths.transcript(folder, sessionId)), MAX_TRANSCRIPT_BYTES).toString('utf8');
  } catch (err) {
    if (err instanceof UnsafePathError && err.kind === 'missing') return '';
    log.error({ group: folder, sessionId, err: (err as Error).message }, 'could not read the transcript to archive before /clear');
    return ` The previous one could not be archived: ${reasonOf(err)}.`;
  }
  const name = archiveName(sessionId, now);
  const markdown = transcriptToMarkdown(jsonl, archiveTitle(sessionId, now));
  try {
    new AgentTree(paths.group(workspace), owner).write(`conversations/${name}`, markdown);
    return ` The previous one is saved in conversations/${name}.`;
  } catch (err) {
    return keepOnHost(paths.archives(folder), name, markdown, { folder, sessionId, log, refusal: err });
  }
}

/** The group folder would not take the archive: keep it where no sandbox reaches, so nothing is lost. */
function keepOnHost(hostDir: string, name: string, markdown: string, ctx: { folder: string; sessionId: string; log: Logger; refusal: unknown }): string {
  const { folder, sessionId, log, refusal } = ctx;
  try {
    mkdirSync(hostDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(hostDir, name), markdown);
  } catch (err) {
    log.error({ group: folder, sessionId, err }, 'could not write the host copy of the archived conversation');
    return ` The previous one could not be archived: ${reasonOf(refusal)}, and the host could not keep a copy.`;
  }
  log.error({ group: folder, sessionId, err: (refusal as Error).message, keptAt: join(hostDir, name) }, 'could not save the archived conversation in the group folder');
  return ` The previous one could not be saved in conversations/ (${reasonOf(refusal)}); the host kept a copy.`;
}

const reasonOf = (err: unknown) => (err instanceof UnsafePathError ? err.message : 'an error on the host');

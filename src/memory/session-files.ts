// A group's conversations as the SDK left them: one JSONL transcript per session in the group's state (which the
// agent can write, so every read goes through AgentTree and nothing there is followed), plus the Markdown copies
// /clear and compaction archived. Backs `carapace sessions`.
import { isSessionId, type DataPaths } from '../fs/paths.js';
import { AgentTree, UnsafePathError } from '../fs/safe-write.js';
import { transcriptToMarkdown } from './transcript.js';

const TRANSCRIPTS = 'projects/-workspace-group';
/** Bigger transcripts are listed but not read (the same cap /clear archives with). */
const MAX_TRANSCRIPT_BYTES = 64 * 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface SessionFile {
  sessionId: string;
  /** The session the group's next run resumes. */
  current: boolean;
  bytes: number;
  modified: string;
}

export interface SessionDetail extends SessionFile {
  /** User and assistant turns with text. */
  turns: number;
  firstAt?: string;
  lastAt?: string;
  /** The first thing the user said, shortened. */
  opening?: string;
}

export interface PruneResult {
  removed: string[];
  /** Where each pruned transcript's readable copy was kept (host-only). */
  archivedTo: string;
}

export class SessionFiles {
  private readonly state: AgentTree;

  constructor(
    private readonly paths: DataPaths,
    private readonly folder: string,
    private readonly currentId: string | undefined,
  ) {
    this.state = new AgentTree(paths.agentState(folder));
  }

  /** Every transcript, newest first; none when the group has never run. */
  list(): SessionFile[] {
    let files: { name: string; size: number; mtimeMs: number }[];
    try {
      files = this.state.files(TRANSCRIPTS);
    } catch (err) {
      if (err instanceof UnsafePathError && err.kind === 'missing') return [];
      throw err;
    }
    return files
      .filter((f) => f.name.endsWith('.jsonl') && isSessionId(f.name.slice(0, -6)))
      .sort((a, b) => b.mtimeMs - a.mtimeMs)
      .map((f) => {
        const sessionId = f.name.slice(0, -6);
        return { sessionId, current: sessionId === this.currentId, bytes: f.size, modified: new Date(f.mtimeMs).toISOString() };
      });
  }

  /** The session `id` names (a unique prefix will do), or the current one when no id is given. */
  find(id?: string): SessionFile {
    const all = this.list();
    const wanted = id ?? this.currentId;
    if (!wanted) throw new Error(`${this.folder} has no current conversation; name one (\`carapace sessions list ${this.folder}\`).`);
    const matches = all.filter((s) => s.sessionId === wanted || s.sessionId.startsWith(wanted));
    if (matches.length === 1) return matches[0];
    if (matches.length === 0) throw new Error(`${this.folder} has no transcript for session ${wanted}.`);
    throw new Error(`"${wanted}" matches ${matches.length} sessions of ${this.folder}; give more of the id.`);
  }

  detail(session: SessionFile): SessionDetail {
    const lines = this.lines(session.sessionId);
    const turns = lines.filter((l) => (l.type === 'user' || l.type === 'assistant') && !l.isMeta);
    const opening = turns.find((l) => l.type === 'user' && typeof l.message?.content === 'string')?.message?.content as string | undefined;
    return {
      ...session,
      turns: turns.length,
      firstAt: turns[0]?.timestamp,
      lastAt: turns.at(-1)?.timestamp,
      opening: opening?.replace(/\s+/g, ' ').slice(0, 120),
    };
  }

  /** The conversation as Markdown a person can read. */
  markdown(session: SessionFile): string {
    return transcriptToMarkdown(this.raw(session.sessionId), `Conversation ${session.sessionId} (${this.folder})`);
  }

  /**
   * Delete transcripts (never the current one) last written more than `days` ago, each first kept as Markdown in
   * the group's host-only archive, so pruning loses nothing readable. `dryRun` only says which.
   */
  prune(days: number, now: number, dryRun: boolean, keep: (name: string, markdown: string) => void): PruneResult {
    const old = this.list().filter((s) => !s.current && now - Date.parse(s.modified) > days * DAY_MS);
    if (!dryRun) {
      for (const s of old) {
        keep(`${s.modified.slice(0, 10)}-${s.sessionId.slice(0, 8)}.md`, this.markdown(s));
        this.state.remove(`${TRANSCRIPTS}/${s.sessionId}.jsonl`);
      }
    }
    return { removed: old.map((s) => s.sessionId), archivedTo: this.paths.archives(this.folder) };
  }

  private raw(sessionId: string): string {
    return this.state.read(`${TRANSCRIPTS}/${sessionId}.jsonl`, MAX_TRANSCRIPT_BYTES).toString('utf8');
  }

  private lines(sessionId: string): TranscriptEntry[] {
    const out: TranscriptEntry[] = [];
    for (const raw of this.raw(sessionId).split('\n')) {
      try {
        if (raw.trim()) out.push(JSON.parse(raw) as TranscriptEntry);
      } catch {
        // a torn last line of a live transcript
      }
    }
    return out;
  }
}

interface TranscriptEntry {
  type?: string;
  timestamp?: string;
  isMeta?: boolean;
  message?: { content?: unknown };
}

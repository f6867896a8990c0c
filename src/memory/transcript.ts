import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

/** Archive a transcript into the group's conversations/ folder; returns the archive's path. */
export function archiveTranscript(transcriptPath: string, groupDir: string, sessionId: string, now = new Date()): string {
  const dir = join(groupDir, 'conversations');
  mkdirSync(dir, { recursive: true });
  const stamp = now.toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
  const file = join(dir, `${stamp}-${sessionId.slice(0, 8)}.md`);
  writeFileSync(file, transcriptToMarkdown(readFileSync(transcriptPath, 'utf8'), `Conversation ${sessionId} (archived ${now.toISOString()})`));
  return file;
}

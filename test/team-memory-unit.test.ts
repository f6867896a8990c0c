import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { transcriptToMarkdown } from '../src/memory/transcript.js';
import { maySessionCommand, sessionCommand } from '../src/router/commands.js';
import { formatMessages } from '../src/router/format.js';
import { TeamWatcher } from '../src/runner/team.js';
import type { StoredMessage } from '../src/store/store.js';

describe('TeamWatcher', () => {
  const dir = mkdtempSync(join(tmpdir(), 'carapace-team-'));
  mkdirSync(join(dir, '.claude', 'agents'), { recursive: true });
  writeFileSync(join(dir, '.claude', 'agents', 'critic.md'), '---\nname: critic\n---\nYou criticise.\n');
  const delegate = (id: string, role: string): any => ({
    type: 'assistant',
    parent_tool_use_id: null,
    message: { content: [{ type: 'tool_use', id, name: 'Agent', input: { subagent_type: role, prompt: 'go' } }] },
  });
  const toolResult = (id: string, text: string): any => ({
    type: 'user',
    parent_tool_use_id: null,
    message: { content: [{ type: 'tool_result', tool_use_id: id, content: [{ type: 'text', text }] }] },
  });

  it('reports a foreground role by its tool result, without the bookkeeping trailer', () => {
    const w = new TeamWatcher(dir);
    expect(w.observe(delegate('t1', 'critic'))).toEqual([]);
    expect(w.observe(toolResult('t1', 'Too long.\nagentId: abc123 (internal)'))).toEqual([{ role: 'critic', text: 'Too long.' }]);
    expect(w.observe(toolResult('t1', 'again'))).toEqual([]); // reported once
  });

  it('reports a background role by its completion notice, not its launch receipt', () => {
    const w = new TeamWatcher(dir);
    w.observe(delegate('t2', 'critic'));
    w.observe({ type: 'system', subtype: 'task_started', tool_use_id: 't2', is_backgrounded: true } as any);
    expect(w.observe(toolResult('t2', 'Async agent launched successfully.'))).toEqual([]);
    expect(w.observe({ type: 'system', subtype: 'task_notification', tool_use_id: 't2', status: 'completed', summary: 'Fine now.' } as any)).toEqual([
      { role: 'critic', text: 'Fine now.' },
    ]);
  });

  it('keeps delegations to roles the group did not define internal', () => {
    const w = new TeamWatcher(dir);
    w.observe(delegate('t3', 'general-purpose'));
    w.observe(delegate('t4', '../../etc/passwd'));
    expect(w.observe(toolResult('t3', 'internal notes'))).toEqual([]);
    expect(w.observe(toolResult('t4', 'x'))).toEqual([]);
  });
});

describe('session commands', () => {
  const group = { trigger: '@Andy', isMain: false, containerConfig: {} };
  it('recognises /clear and /compact alone or after the trigger', () => {
    expect(sessionCommand(group, '/clear')).toBe('clear');
    expect(sessionCommand(group, '  /COMPACT ')).toBe('compact');
    expect(sessionCommand(group, '@Andy /compact')).toBe('compact');
    expect(sessionCommand(group, '@andy, /clear')).toBe('clear');
    expect(sessionCommand(group, '/clear the table please')).toBeUndefined();
    expect(sessionCommand(group, 'please /clear')).toBeUndefined();
  });
  it('are for main, or groups that allow them', () => {
    expect(maySessionCommand(group)).toBe(false);
    expect(maySessionCommand({ ...group, isMain: true })).toBe(true);
    expect(maySessionCommand({ ...group, containerConfig: { allowSessionCommands: true } })).toBe(true);
  });
});

describe('prompt budget', () => {
  const msg = (id: number, text: string): StoredMessage => ({ id, chatId: 'c', senderId: 's', senderName: 'S', text, timestamp: 0, fromAssistant: false });

  it('keeps the newest messages and says how many were left out', () => {
    const out = formatMessages([1, 2, 3, 4, 5].map((i) => msg(i, `m${i}`)), 'UTC', { maxMessages: 2, maxChars: 10_000 });
    expect(out).toMatch(/^<messages>\n<omitted count="3">3 earlier messages were left out/);
    expect(out).toContain('>m4</message>');
    expect(out).toContain('>m5</message>');
    expect(out).not.toContain('>m3<');
  });

  it('respects the character budget and shortens a single huge message', () => {
    const many = formatMessages([1, 2, 3].map((i) => msg(i, 'x'.repeat(400))), 'UTC', { maxMessages: 100, maxChars: 1000 });
    expect(many).toContain('<omitted count="1">1 earlier message was left out');
    const huge = formatMessages([msg(1, 'y'.repeat(5000))], 'UTC', { maxMessages: 100, maxChars: 1000 });
    expect(huge.length).toBeLessThan(1200);
    expect(huge).toContain('[message truncated]');
  });
});

describe('transcript archive', () => {
  it('renders user and assistant turns as Markdown and skips noise', () => {
    const jsonl = [
      JSON.stringify({ type: 'user', timestamp: 't1', message: { role: 'user', content: 'hello <system-reminder>x</system-reminder>' } }),
      JSON.stringify({ type: 'assistant', timestamp: 't2', message: { role: 'assistant', content: [{ type: 'text', text: 'hi!' }, { type: 'tool_use', name: 'Bash' }] } }),
      JSON.stringify({ type: 'summary', summary: 'ignored' }),
      '{"torn": ',
    ].join('\n');
    expect(transcriptToMarkdown(jsonl, 'T')).toBe('# T\n\n## User — t1\n\nhello\n\n## Assistant — t2\n\nhi!\n\n*[used Bash]*\n');
  });
});

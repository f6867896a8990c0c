// `carapace sessions list|show|export|clear|compact|resume|prune`: a group's conversations (the SDK's transcripts
// in its state), read without following anything the agent planted. Commands that change which conversation a
// group continues (clear, resume, prune) take the data directory's lock, so they never race a live run: while
// Carapace runs they say to use /clear (or /compact) in the chat, where the running assistant retires the live run
// and answers. /compact always needs the agent (the model writes the summary), so `compact` only says how.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import type { Config } from '../config.js';
import { dataPaths } from '../fs/paths.js';
import { SessionFiles, type SessionFile } from '../memory/session-files.js';
import { archiveOnClear } from '../memory/transcript.js';
import type { Group, Store } from '../store/store.js';
import { writeJson, type CliContext } from './context.js';
import { CliError, EXIT } from './exit.js';
import { groupOrFail } from './groups.js';
import { whileStopped } from './instance-lock.js';
import { withStore } from './with-store.js';

const JSON_HELP = 'print the result as JSON';

function print<T>(ctx: CliContext, json: boolean | undefined, data: T, text: (d: T) => string): void {
  if (json) writeJson(ctx, data);
  else ctx.out.write(text(data));
}

const filesOf = (store: Store, config: Config, group: Group) => new SessionFiles(dataPaths(config.dataDir), group.folder, store.sessionOf(group.id));

function sessionOrFail(files: SessionFiles, id: string | undefined): SessionFile {
  try {
    return files.find(id);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

const inChat = (command: string, group: Group) =>
  `send ${group.requiresTrigger ? `"${group.trigger} /${command}"` : `"/${command}"`} in the ${group.name} chat (the main chat always may; other chats when allowSessionCommands is on)`;

function listText(rows: { folder: string; sessions: SessionFile[] }[]): string {
  const lines: string[] = [];
  for (const { folder, sessions } of rows) {
    lines.push(`${folder}: ${sessions.length === 0 ? 'no conversations yet' : `${sessions.length} conversation(s)`}`);
    for (const s of sessions) lines.push(`  ${s.current ? '*' : ' '} ${s.sessionId}  ${s.modified}  ${Math.ceil(s.bytes / 1024)} KiB`);
  }
  return `${lines.join('\n')}\n(* = the one the next message continues)\n`;
}

export function addSessions(program: Command, ctx: CliContext): void {
  const sessions = program.command('sessions').description("a chat's conversations: list, read, export, clear, resume, prune");

  sessions
    .command('list', { isDefault: true })
    .description('conversations per group, newest first; * marks the current one')
    .argument('[group]', 'a group folder or chat id (default: every group)')
    .option('--json', JSON_HELP)
    .action((ref: string | undefined, o: { json?: boolean }) =>
      withStore(ctx, (store, config) => {
        const groups = ref ? [groupOrFail(store, ref)] : store.listGroups();
        const rows = groups.map((g) => ({ folder: g.folder, sessions: filesOf(store, config, g).list() }));
        print(ctx, o.json, rows, listText);
      }, o.json ? [] : undefined),
    );
  sessions
    .command('show')
    .description("one conversation's size, turns, first and last time and how it began")
    .argument('<group>', 'a group folder or chat id')
    .argument('[session]', 'a session id or a unique prefix (default: the current one)')
    .option('--json', JSON_HELP)
    .action((ref: string, id: string | undefined, o: { json?: boolean }) =>
      withStore(ctx, (store, config) => {
        const files = filesOf(store, config, groupOrFail(store, ref));
        const d = files.detail(sessionOrFail(files, id));
        print(ctx, o.json, d, () =>
          `${d.sessionId}${d.current ? ' (current)' : ''}\n  ${d.turns} turns, ${d.bytes} bytes, ${d.firstAt ?? '?'} to ${d.lastAt ?? '?'}\n  began: ${d.opening ?? '(no text)'}\n`,
        );
      }),
    );
  addExport(sessions, ctx);
  addChanges(sessions, ctx);
}

function addExport(sessions: Command, ctx: CliContext): void {
  sessions
    .command('export')
    .description('a conversation as Markdown, on stdout or into a file')
    .argument('<group>', 'a group folder or chat id')
    .argument('[session]', 'a session id or a unique prefix (default: the current one)')
    .option('--output <file>', 'write it to this file instead of stdout')
    .option('--json', JSON_HELP)
    .action((ref: string, id: string | undefined, o: { output?: string; json?: boolean }) =>
      withStore(ctx, (store, config) => {
        const files = filesOf(store, config, groupOrFail(store, ref));
        const session = sessionOrFail(files, id);
        const markdown = files.markdown(session);
        if (o.output) writeFileSync(o.output, markdown);
        if (o.json) writeJson(ctx, { sessionId: session.sessionId, ...(o.output ? { file: o.output, bytes: Buffer.byteLength(markdown) } : { markdown }) });
        else ctx.out.write(o.output ? `Wrote ${session.sessionId} to ${o.output}\n` : markdown);
      }),
    );
}

function addChanges(sessions: Command, ctx: CliContext): void {
  sessions
    .command('clear')
    .description('start a fresh conversation: the current one is archived as Markdown in the group folder (Carapace stopped)')
    .argument('<group>', 'a group folder or chat id')
    .option('--json', JSON_HELP)
    .action((ref: string, o: { json?: boolean }) =>
      withStore(ctx, (store, config) => {
        const group = groupOrFail(store, ref);
        const previous = store.sessionOf(group.id);
        const saved = whileStopped(config.dataDir, inChat('clear', group), () => {
          const log = pino({ level: 'warn' }, ctx.err);
          const said = previous ? archiveOnClear({ paths: dataPaths(config.dataDir), folder: group.folder, workspace: group.workspace, sessionId: previous, owner: config.sandbox, log }) : '';
          store.clearSession(group.id);
          return said.trim();
        });
        if (o.json) writeJson(ctx, { group: group.folder, cleared: previous ?? null, archive: saved });
        else ctx.out.write(`${previous ? `Cleared ${previous}.` : 'There was no conversation to clear.'} ${saved}\n`);
      }),
    );
  sessions
    .command('compact')
    .description('how to compact a conversation (the model writes the summary, so it happens in the chat)')
    .argument('<group>', 'a group folder or chat id')
    .option('--json', JSON_HELP)
    .action((ref: string, o: { json?: boolean }) =>
      withStore(ctx, (store) => {
        const group = groupOrFail(store, ref);
        const instead = `Compacting needs the assistant: ${inChat('compact', group)}. The full conversation is archived in conversations/ first.`;
        if (!o.json) throw new CliError(instead);
        writeJson(ctx, { group: group.folder, compacted: false, instead });
        ctx.exitCode = EXIT.failure;
      }),
    );
  sessions
    .command('resume')
    .description("continue an earlier conversation: the group's next message resumes it (Carapace stopped)")
    .argument('<group>', 'a group folder or chat id')
    .argument('<session>', 'a session id or a unique prefix, as `carapace sessions list` shows')
    .option('--json', JSON_HELP)
    .action((ref: string, id: string, o: { json?: boolean }) =>
      withStore(ctx, (store, config) => {
        const group = groupOrFail(store, ref);
        const session = sessionOrFail(filesOf(store, config, group), id);
        const previous = store.sessionOf(group.id);
        whileStopped(config.dataDir, 'stop it to switch conversations (or /clear in the chat to start fresh)', () => store.setSession(group.id, session.sessionId));
        print(ctx, o.json, { group: group.folder, resumed: session.sessionId, previous: previous ?? null }, (r) =>
          `${r.group} continues ${r.resumed} with its next message${r.previous && r.previous !== r.resumed ? ` (was ${r.previous}; it stays listed)` : ''}.\n`,
        );
      }),
    );
  addPrune(sessions, ctx);
}

function addPrune(sessions: Command, ctx: CliContext): void {
  sessions
    .command('prune')
    .description('delete old transcripts (never the current one), each kept as Markdown in the host-only archive first')
    .argument('[group]', 'a group folder or chat id (default: every group)')
    .requiredOption('--older-than <days>', 'transcripts last written more than this many days ago', parseDays)
    .option('--dry-run', 'only list what would be pruned')
    .option('--json', JSON_HELP)
    .action((ref: string | undefined, o: { olderThan: number; dryRun?: boolean; json?: boolean }) =>
      withStore(ctx, (store, config) => {
        const groups = ref ? [groupOrFail(store, ref)] : store.listGroups();
        const prune = () =>
          groups.map((g) => {
            const keep = (name: string, markdown: string) => {
              const dir = dataPaths(config.dataDir).archives(g.folder);
              mkdirSync(dir, { recursive: true, mode: 0o700 });
              writeFileSync(join(dir, name), markdown, { mode: 0o600 });
            };
            return { group: g.folder, ...filesOf(store, config, g).prune(o.olderThan, Date.now(), o.dryRun === true, keep) };
          });
        const results = o.dryRun ? prune() : whileStopped(config.dataDir, 'stop it first (pruning never touches a live conversation, but takes the lock to be sure)', prune);
        print(ctx, o.json, results, (rs) =>
          rs.map((r) => `${r.group}: ${o.dryRun ? 'would prune' : 'pruned'} ${r.removed.length}${r.removed.length ? ` (readable copies in ${r.archivedTo})` : ''}`).join('\n') + '\n',
        );
      }, o.json ? [] : undefined),
    );
}

function parseDays(raw: string): number {
  const days = Number(raw);
  if (!Number.isFinite(days) || days < 0) throw new CliError(`--older-than wants a number of days, not "${raw}"`, EXIT.usage);
  return days;
}

// `carapace groups list|show|set|remove`: the same settings as update_group from the main chat, validated by the
// same schema and logged the same way. They work on the store directly; a running assistant reads every
// setting fresh, so a change applies to its next model call or run (and is told, to close a live sandbox).
import type { Command } from 'commander';
import pino from 'pino';
import { APP_ROOT } from '../app-root.js';
import type { Config } from '../config.js';
import { dataPaths } from '../fs/paths.js';
import { GroupPolicy } from '../groups/group-policy.js';
import { groupSettings, groupSettingsShape, SETTING_NAMES, SettingsError, type SettingName } from '../groups/settings-schema.js';
import { unregisterGroup } from '../groups/unregister.js';
import { changeGroup, findGroup } from '../ops/group-ops.js';
import type { Group, Store } from '../store/store.js';
import { writeJson, type CliContext } from './context.js';
import { CliError } from './exit.js';
import { localApi } from './local-api.js';
import { runningInstance } from './instance-info.js';
import { whileStopped } from './instance-lock.js';
import { spendLine } from './status.js';
import { spendReport } from '../groups/spend.js';
import { withStore } from './with-store.js';

const JSON_HELP = 'print the result as JSON';
const SETTINGS_HELP = `\nSettings (null or "none" puts one back to the default):\n${SETTING_NAMES.map(
  (k) => `  ${k.padEnd(17)} ${groupSettingsShape[k].description ?? ''}`,
).join('\n')}\n\nExamples:\n  carapace groups set family trigger @Bob\n  carapace groups set family dailySpendUsd 2\n  carapace groups set family allowedDomains '["github.com","*.wikipedia.org"]'\n`;

export function groupOrFail(store: Store, ref: string): Group {
  const group = findGroup(store, ref);
  if (!group) throw new CliError(`No registered group "${ref}"; \`carapace groups\` lists them.`);
  return group;
}

/** A value from the command line: JSON where it parses (numbers, booleans, lists), text for the text settings. */
export function parseSettingValue(key: SettingName, raw: string): unknown {
  if (raw === 'none' || raw === 'null' || raw === 'default') return key === 'extraMounts' ? [] : null;
  if (key === 'name' || key === 'trigger') return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw; // the schema says what was expected
  }
}

function setSetting(store: Store, config: Config, ref: string, key: string, raw: string) {
  if (!(SETTING_NAMES as string[]).includes(key)) throw new CliError(`Unknown setting "${key}". Settings: ${SETTING_NAMES.join(', ')}.`);
  const group = groupOrFail(store, ref);
  const policy = new GroupPolicy({ store, config, log: pino({ enabled: false }), protectedPaths: [config.dataDir], projectDir: APP_ROOT });
  try {
    const { group: updated, changes } = changeGroup(store, group, { [key]: parseSettingValue(key as SettingName, raw) }, 'cli', (g, m) =>
      policy.mountRefusals(g, m as never),
    );
    return { id: updated.id, folder: updated.folder, changed: changes, settings: groupSettings(updated) };
  } catch (err) {
    if (err instanceof SettingsError) throw new CliError(err.message);
    throw err;
  }
}

/**
 * A running assistant reads settings fresh, but a live sandbox keeps the mounts and limits it started with:
 * tell it (its local API) so it closes that sandbox after its turn. Returns a warning when one is running but
 * could not be told; nothing when none runs (the next start reads the store).
 */
async function tellRunning(config: Config, groupId: number, changed: string[]): Promise<string | undefined> {
  const api = runningInstance(config.dataDir) && localApi(config);
  if (!api) return undefined;
  const body = JSON.stringify({ changed });
  const init = { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(3000) };
  const why = await api(`/api/console/groups/${groupId}/settings-changed`, init).then(
    (res) => (res.ok ? undefined : `it answered HTTP ${res.status}`),
    (err: Error) => err.message,
  );
  return why && `Saved, but the running Carapace could not be told (${why}): a live sandbox of this group keeps its old settings until it ends. \`carapace restart\` applies them now.`;
}

/** Remove a group with the assistant stopped (holding its lock), so no run of it is live. */
function removeGroup(store: Store, config: Config, ref: string): string {
  const group = groupOrFail(store, ref);
  if (group.isMain) throw new CliError('The main chat cannot be removed.');
  return whileStopped(config.dataDir, `ask in the main chat ("remove the ${group.folder} group")`, () =>
    unregisterGroup(store, dataPaths(config.dataDir), group, 'cli'),
  );
}

const listRows = (store: Store, config: Config) => {
  const spend = spendReport(store, config.timeZone);
  return store.listGroups().map((g) => ({ folder: g.folder, chatId: g.chatId, isMain: g.isMain, ...groupSettings(g), spend: spend.groups.find((s) => s.folder === g.folder)! }));
};

function renderList(rows: ReturnType<typeof listRows>): string {
  if (rows.length === 0) return 'No groups registered.';
  return rows
    .map((r) => `${r.isMain ? '*' : ' '} ${r.folder}  ${r.name} (${r.chatId})  trigger=${r.requiresTrigger ? r.trigger : 'none'}\n    ${spendLine(r.spend)}`)
    .join('\n');
}

const renderSettings = (folder: string, settings: Record<string, unknown>) =>
  [`${folder}:`, ...Object.entries(settings).map(([k, v]) => `  ${k.padEnd(17)} ${JSON.stringify(v)}`)].join('\n');

export function addGroupCommands(program: Command, ctx: CliContext): void {
  const out = (json: boolean | undefined, data: unknown, text: string) => (json ? writeJson(ctx, data) : ctx.out.write(`${text}\n`));
  const groups = program.command('groups').description('registered chats: list them (the default), show, change or remove one');
  groups
    .command('list', { isDefault: true })
    .description('every registered chat with its trigger and spend')
    .option('--json', JSON_HELP)
    .action((o: { json?: boolean }) =>
      withStore(
        ctx,
        (store, config) => {
          const rows = listRows(store, config);
          out(o.json, rows, renderList(rows));
        },
        o.json ? [] : undefined,
      ),
    );
  groups
    .command('show')
    .description("one chat's settings and its latest changes")
    .argument('<group>', 'folder or chat id')
    .option('--json', JSON_HELP)
    .action((ref: string, o: { json?: boolean }) =>
      withStore(ctx, (store) => {
        const g = groupOrFail(store, ref);
        const data = { folder: g.folder, chatId: g.chatId, isMain: g.isMain, ...groupSettings(g), recentChanges: store.groupChanges(g.id, 10) };
        out(o.json, data, renderSettings(g.folder, groupSettings(g)));
      }),
    );
  groups
    .command('set')
    .description("change one setting of a chat (validated; logged)")
    .argument('<group>', 'folder or chat id')
    .argument('<setting>', `one of: ${SETTING_NAMES.join(', ')}`)
    .argument('<value>', 'the new value (JSON for lists and objects; none for the default)')
    .option('--json', JSON_HELP)
    .addHelpText('after', SETTINGS_HELP)
    .action((ref: string, key: string, raw: string, o: { json?: boolean }) =>
      withStore(ctx, async (store, config) => {
        const { id, ...result } = setSetting(store, config, ref, key, raw);
        const changed = Object.keys(result.changed);
        const warning = changed.length ? await tellRunning(config, id, changed) : undefined;
        if (warning) process.stderr.write(`${warning}\n`);
        out(o.json, result, changed.length ? `${result.folder}: ${changed.map((k) => `${k} = ${JSON.stringify(result.changed[k].to)}`).join(', ')}` : `${result.folder}: unchanged`);
      }),
    );
  groups
    .command('remove')
    .description('stop answering in a chat: its tasks are removed, its folder archived (Carapace must be stopped)')
    .argument('<group>', 'folder or chat id')
    .option('--json', JSON_HELP)
    .action((ref: string, o: { json?: boolean }) =>
      withStore(ctx, (store, config) => {
        const archivedTo = removeGroup(store, config, ref);
        out(o.json, { removed: ref, archivedTo }, `Removed ${ref}; its folder is archived at ${archivedTo}.`);
      }),
    );
}

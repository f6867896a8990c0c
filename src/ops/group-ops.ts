// Changing and removing groups from the main chat: update_group, unregister_group, show_group. Every change is
// validated with the schema the CLI and the console use (groups/settings-schema.ts) and logged in the store.
import { z } from 'zod';
import { validateContainerConfig } from '../groups/group-config.js';
import { applySettings, groupSettings, SettingsError, parseOrExplain, settingsPatchSchema } from '../groups/settings-schema.js';
import type { Group, Store } from '../store/store.js';
import { explained, op, OpError, type Op, type OpContext } from './op.js';

const groupRef = z.string().min(1).max(200);

/** A registered group by folder or chat id. */
export function findGroup(store: Store, ref: string): Group | undefined {
  return store.listGroups().find((g) => g.folder === ref || g.chatId === ref);
}

/** The group a request names (default: its own); only main may name another. */
function targetOf(ctx: OpContext, ref: string | undefined): Group {
  if (ref === undefined || ref === ctx.group.folder || ref === ctx.group.chatId) return ctx.group;
  if (!ctx.group.isMain) throw new OpError(`This chat can only see its own settings, not "${ref}"; only the main chat manages other chats.`);
  const group = findGroup(ctx.store, ref);
  if (!group) throw new OpError(`No registered group "${ref}": use a folder or chat id from list_groups.`);
  return group;
}

const SETTINGS_ONLY_IN_MAIN =
  "Only the main chat can change a chat's settings (name, trigger, budgets, web access, mounts, limits). Ask the owner to do it from the main chat.";

/** Apply a settings change to a group: validated, mounts checked against the allowlist, logged. */
export function changeGroup(store: Store, group: Group, input: unknown, actor: string, mountRefusals: (g: Group, m: unknown[]) => string[]) {
  const patch = parseOrExplain(settingsPatchSchema, input, `settings for "${group.folder}"`);
  const { fields, changes } = applySettings(group, patch);
  if (patch.extraMounts) {
    const refused = mountRefusals(group, patch.extraMounts);
    if (refused.length > 0) throw new SettingsError(`Extra mounts for "${group.folder}" refused by the mount allowlist: ${refused.join('; ')}`);
  }
  try {
    validateContainerConfig(fields.containerConfig, fields.name);
  } catch (err) {
    throw new SettingsError((err as Error).message); // a stored setting already broken: say which
  }
  const updated = store.db.transaction(() => {
    const g = store.updateGroup(group.id, fields);
    if (Object.keys(changes).length > 0) store.logGroupChange({ at: Date.now(), groupId: group.id, folder: group.folder, actor, change: changes });
    return g;
  })();
  return { group: updated, changes };
}

export const groupOps: Record<string, Op<unknown>> = {
  show_group: op({
    mainOnly: false,
    args: z.strictObject({ group: groupRef.optional() }),
    run: (ctx, { group }) => {
      const g = targetOf(ctx, group);
      return { folder: g.folder, chatId: g.chatId, isMain: g.isMain, ...groupSettings(g), recentChanges: ctx.store.groupChanges(g.id, 5) };
    },
  }),

  update_group: op({
    mainOnly: false, // refused below with a message that says where to go instead
    args: z.looseObject({ group: groupRef.optional() }),
    run: (ctx, { group, ...settings }) => {
      if (!ctx.group.isMain) throw new OpError(SETTINGS_ONLY_IN_MAIN);
      const target = targetOf(ctx, group);
      const { group: updated, changes } = explained(() =>
        changeGroup(ctx.store, target, settings, `chat:${ctx.group.folder}`, (g, m) => ctx.host.groups.mountRefusals(g, m as never)),
      );
      ctx.host.groups.settingsChanged(updated, Object.keys(changes));
      return { folder: updated.folder, changed: changes, settings: groupSettings(updated) };
    },
  }),

  unregister_group: op({
    mainOnly: true,
    args: z.strictObject({ group: groupRef }),
    run: async (ctx, { group }) => {
      const target = targetOf(ctx, group);
      if (target.isMain) throw new OpError('The main chat cannot be removed.');
      const archive = await ctx.host.groups.unregister(target, `chat:${ctx.group.folder}`);
      return `Removed "${target.name}" (${target.chatId}): its scheduled tasks are gone and the assistant no longer answers there. Its folder is archived at ${archive}.`;
    },
  }),
};

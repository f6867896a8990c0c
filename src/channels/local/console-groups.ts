// The console's chats and groups: every registered group with its settings, changed, registered and unregistered
// through the host's ops (update_group, register_group, unregister_group) with the main chat's authority, so the
// console validates with the same schema as the main chat and the CLI.
import type { Group } from '../../store/store.js';
import { ConsoleError, type ConsoleDeps, mainContext, viaOp } from './console-context.js';

/** What the console shows of a group. */
export function groupView(g: Group) {
  const cc = g.containerConfig;
  return {
    id: g.id,
    name: g.name,
    chatId: g.chatId,
    channel: g.channel,
    folder: g.folder,
    isMain: g.isMain,
    isThread: g.parentId !== null,
    /** 'source': a watched chat, stored but never answered. */
    mode: g.mode,
    trigger: g.trigger,
    requiresTrigger: g.requiresTrigger,
    allowSessionCommands: cc.allowSessionCommands === true,
    dailyTokenBudget: cc.dailyTokenBudget ?? null,
    egressAllow: (cc.egress as { allow?: string[] } | undefined)?.allow ?? null,
    limits: cc.limits ?? null,
    additionalMounts: cc.additionalMounts ?? [],
  };
}

/** The console's names for settings → the names of the one settings schema (groups/settings-schema.ts). */
const SETTING_OF: Record<string, string> = {
  egressAllow: 'allowedDomains',
  additionalMounts: 'extraMounts',
  allowSessionCommands: 'sessionCommands',
};

function groupOrThrow(deps: ConsoleDeps, id: number): Group {
  const group = deps.store.groupById(id);
  if (!group) throw new ConsoleError(`No group ${id}`, 404);
  return group;
}

/** A settings change through `update_group`, as the owner would make it from main: validated, checked, logged. */
export async function updateGroup(deps: ConsoleDeps, id: number, body: unknown) {
  const group = groupOrThrow(deps, id);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ConsoleError('Send the settings to change as a JSON object.');
  const patch = Object.fromEntries(
    Object.entries(body).map(([key, value]) => [SETTING_OF[key] ?? key, key === 'additionalMounts' && value === null ? [] : value]),
  );
  await viaOp(mainContext(deps), 'update_group', { ...patch, group: group.folder });
  return groupView(groupOrThrow(deps, id));
}

/** Settings changed in the store by `carapace groups set`: one that shapes the sandbox closes the live one. */
export function settingsChanged(deps: ConsoleDeps, id: number, body: unknown) {
  const changed = (body as { changed?: unknown } | null)?.changed;
  if (!Array.isArray(changed) || !changed.every((k) => typeof k === 'string')) throw new ConsoleError('Send {"changed": [setting names]}.');
  deps.orchestrator.opHost.groups.settingsChanged(groupOrThrow(deps, id), changed);
  return { ok: true };
}

export function registerGroup(deps: ConsoleDeps, body: unknown) {
  return viaOp(mainContext(deps), 'register_group', body);
}

export async function unregisterGroup(deps: ConsoleDeps, id: number) {
  const group = groupOrThrow(deps, id);
  if (group.isMain) throw new ConsoleError('The main chat cannot be unregistered (move main to another chat first).', 409);
  return { ok: true, message: await viaOp(mainContext(deps), 'unregister_group', { group: group.folder }) };
}

/** Registered groups, and the known chats that are not registered yet (to register from the console). */
export function listGroups(deps: ConsoleDeps) {
  const groups = deps.store.listGroups().map(groupView);
  const chats = deps.store
    .listChats('', 200)
    .filter((c) => !c.folder)
    .map((c) => ({ chatId: c.chatId, name: c.name, isGroup: c.isGroup }));
  return { groups, chats };
}

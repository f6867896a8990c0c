// The console's chats and groups: every registered group with its settings, edited and validated here before
// anything is written (the same container-config check every other writer uses, plus a dry run of the mount
// allowlist), registered and unregistered through the host's ops.
import { z } from 'zod';
import { mountRequestSchema, validateContainerConfig, type MountRequest } from '../../groups/group-config.js';
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
    trigger: g.trigger,
    requiresTrigger: g.requiresTrigger,
    allowSessionCommands: cc.allowSessionCommands === true,
    dailyTokenBudget: cc.dailyTokenBudget ?? null,
    egressAllow: (cc.egress as { allow?: string[] } | undefined)?.allow ?? null,
    limits: cc.limits ?? null,
    additionalMounts: cc.additionalMounts ?? [],
  };
}

/** A settings change: absent keys stay as they are, `null` returns a setting to the install's default. */
const settingsSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    trigger: z.string().trim().min(1).max(50),
    requiresTrigger: z.boolean(),
    allowSessionCommands: z.boolean(),
    dailyTokenBudget: z.number().nullable(),
    egressAllow: z.array(z.string()).nullable(),
    limits: z.record(z.string(), z.unknown()).nullable(),
    additionalMounts: z.array(mountRequestSchema).nullable(),
  })
  .partial()
  .strict();

const CONFIG_KEYS = { dailyTokenBudget: 'dailyTokenBudget', limits: 'limits', additionalMounts: 'additionalMounts' } as const;

/** The container config the change asks for (not yet checked). */
function nextContainerConfig(current: Record<string, unknown>, s: z.infer<typeof settingsSchema>): Record<string, unknown> {
  const next: Record<string, unknown> = { ...current };
  const put = (key: string, value: unknown) => (value === null ? delete next[key] : (next[key] = value));
  for (const [field, key] of Object.entries(CONFIG_KEYS)) {
    const value = s[field as keyof typeof CONFIG_KEYS];
    if (value !== undefined) put(key, value);
  }
  if (s.egressAllow !== undefined) put('egress', s.egressAllow === null ? null : { allow: s.egressAllow });
  if (s.allowSessionCommands !== undefined) put('allowSessionCommands', s.allowSessionCommands || null);
  return next;
}

/** Every extra mount must pass the allowlist now, not be dropped silently at the group's next run. */
function assertMountsGranted(deps: ConsoleDeps, group: Group, config: Record<string, unknown>): void {
  const requests = (config.additionalMounts as MountRequest[] | undefined) ?? [];
  if (requests.length === 0) return;
  const refused = deps.orchestrator.policy.mountDecision(group.isMain, requests).rejected.map((r) => `${r.request.hostPath}: ${r.reason}`);
  if (refused.length > 0) {
    throw new ConsoleError(`additionalMounts refused by the mount allowlist (${deps.config.mountAllowlistPath}): ${refused.join('; ')}`);
  }
}

function groupOrThrow(deps: ConsoleDeps, id: number): Group {
  const group = deps.store.groupById(id);
  if (!group) throw new ConsoleError(`No group ${id}`, 404);
  return group;
}

export function updateGroup(deps: ConsoleDeps, id: number, body: unknown) {
  const group = groupOrThrow(deps, id);
  const parsed = settingsSchema.safeParse(body);
  if (!parsed.success) throw new ConsoleError(z.prettifyError(parsed.error));
  const s = parsed.data;
  const next = nextContainerConfig(group.containerConfig, s);
  try {
    validateContainerConfig(next, s.name ?? group.name);
  } catch (err) {
    throw new ConsoleError((err as Error).message);
  }
  assertMountsGranted(deps, group, next);
  deps.store.db.transaction(() => {
    deps.store.setContainerConfig(group.id, next);
    deps.store.updateGroupSettings(group.id, { name: s.name, trigger: s.trigger, requiresTrigger: s.requiresTrigger });
  })();
  return groupView(groupOrThrow(deps, id));
}

export function registerGroup(deps: ConsoleDeps, body: unknown) {
  return viaOp(mainContext(deps), 'register_group', body);
}

export function unregisterGroup(deps: ConsoleDeps, id: number) {
  const group = groupOrThrow(deps, id);
  if (group.isMain) throw new ConsoleError('The main chat cannot be unregistered (move main to another chat first).', 409);
  if (deps.board.runs().some((r) => r.groupId === id)) throw new ConsoleError(`${group.name} has a run in progress: stop it first.`, 409);
  deps.store.unregisterGroup(id);
  return { ok: true };
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

// The settings of a group as people change them — from the main chat (update_group), the CLI (`carapace groups
// set`) and the web console — with the one schema all of them validate against, and how a change is applied.
import { z } from 'zod';
import type { Group, GroupFields } from '../store/store.js';
import { containerConfigParts, readContainerConfig } from './group-config.js';

const { additionalMounts, egress, dailyTokenBudget, dailySpendUsd, limits, diskQuotaMb } = containerConfigParts;

/** Each setting, with what it means; `null` puts a setting back to the install's default. */
export const groupSettingsShape = {
  name: z.string().trim().min(1).max(100).describe('Display name'),
  trigger: z
    .string()
    .trim()
    .min(1)
    .max(50)
    .regex(/^\S+$/, 'one word without spaces, e.g. "@Andy"')
    .describe('The word that calls the assistant, e.g. "@Andy"'),
  requiresTrigger: z.boolean().describe('true: answer only messages that start with the trigger; false: answer every message'),
  allowedDomains: egress.shape.allow.nullable().describe('Web sites the chat may reach ("example.com", "*.example.com"); null: the default list'),
  askForWebAccess: z.boolean().nullable().describe('true: a request for a site not on the list asks the owner in the main chat; false: refused without asking; null: the default (ask)'),
  dailyTokenBudget: dailyTokenBudget.nullable().describe('Tokens per day; null: no token budget'),
  dailySpendUsd: dailySpendUsd.nullable().describe('US dollars per day; null: no money budget'),
  limits: limits.nullable().describe('Sandbox limits {memoryMb, pids, cpus, timeoutMs}; null: the defaults'),
  diskQuotaMb: diskQuotaMb.nullable().describe("MB of disk the chat's folder may take (a run is stopped at it); null: the default (5 GB)"),
  extraMounts: additionalMounts.describe('Host folders to mount (within the mount allowlist): [{hostPath, containerPath?, readonly?}]; [] for none'),
  sessionCommands: z.boolean().describe('May the chat use /clear and /compact (the main chat always may)'),
};
export type SettingName = keyof typeof groupSettingsShape;
export const SETTING_NAMES = Object.keys(groupSettingsShape) as SettingName[];

/** A change of some settings; at least one. */
export const settingsPatchSchema = z
  .strictObject(groupSettingsShape)
  .partial()
  .refine((p) => Object.keys(p).length > 0, { message: `name at least one setting to change: ${SETTING_NAMES.join(', ')}` });
export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

/** The install's own daily budgets over all groups. */
export const totalBudgetSchema = z
  .strictObject({ dailySpendUsd: dailySpendUsd.nullable(), dailyTokenBudget: dailyTokenBudget.nullable() })
  .partial()
  .refine((p) => Object.keys(p).length > 0, { message: 'name dailySpendUsd or dailyTokenBudget' });

/** "Extend today by $2": extra budget for the rest of the local day. */
export const extensionSchema = z
  .strictObject({
    usd: z.number().positive().max(10_000).optional().describe('Dollars to add to today'),
    tokens: z.number().int().positive().optional().describe('Tokens to add to today'),
  })
  .refine((e) => e.usd !== undefined || e.tokens !== undefined, { message: 'give usd or tokens to add' });

export class SettingsError extends Error {}

/** Parse input against a schema, or throw a SettingsError that names every bad field and why. */
export function parseOrExplain<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message));
  throw new SettingsError(`Invalid ${what}: ${issues.join('; ')}.`);
}

/** Every setting of a group as it is now (the view `show` and the console read). */
export function groupSettings(group: Group) {
  const config = readContainerConfig(group.containerConfig).config;
  return {
    name: group.name,
    trigger: group.trigger,
    requiresTrigger: group.requiresTrigger,
    allowedDomains: config.egress?.allow ?? null,
    askForWebAccess: group.containerConfig.egressNeverAsk !== true,
    dailyTokenBudget: config.dailyTokenBudget ?? null,
    dailySpendUsd: config.dailySpendUsd ?? null,
    limits: config.limits ?? null,
    diskQuotaMb: config.diskQuotaMb ?? null,
    extraMounts: config.additionalMounts ?? [],
    sessionCommands: group.isMain || group.containerConfig.allowSessionCommands === true,
  };
}
export type GroupSettings = ReturnType<typeof groupSettings>;

/** Where each setting lives in a group's container_config (the rest are columns of the group). */
const CONFIG_KEYS: Partial<Record<SettingName, (v: unknown) => [string, unknown]>> = {
  allowedDomains: (v) => ['egress', v === null ? undefined : { allow: v }],
  askForWebAccess: (v) => ['egressNeverAsk', v === false ? true : undefined],
  dailyTokenBudget: (v) => ['dailyTokenBudget', v ?? undefined],
  dailySpendUsd: (v) => ['dailySpendUsd', v ?? undefined],
  limits: (v) => ['limits', v ?? undefined],
  diskQuotaMb: (v) => ['diskQuotaMb', v ?? undefined],
  extraMounts: (v) => ['additionalMounts', (v as unknown[]).length === 0 ? undefined : v],
  sessionCommands: (v) => ['allowSessionCommands', v === true ? true : undefined],
};

/** The group's fields with `patch` applied, and each change as {from, to} (for the log). */
export function applySettings(group: Group, patch: SettingsPatch): { fields: GroupFields; changes: Record<string, { from: unknown; to: unknown }> } {
  const before = groupSettings(group);
  const config: Record<string, unknown> = { ...group.containerConfig };
  const fields: GroupFields = { name: group.name, trigger: group.trigger, requiresTrigger: group.requiresTrigger, containerConfig: config };
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of Object.keys(patch) as SettingName[]) {
    const value = patch[key];
    const toConfig = CONFIG_KEYS[key];
    if (toConfig) {
      const [configKey, stored] = toConfig(value);
      if (stored === undefined) delete config[configKey];
      else config[configKey] = stored;
    } else Object.assign(fields, { [key]: value });
    if (JSON.stringify(before[key]) !== JSON.stringify(value)) changes[key] = { from: before[key], to: value };
  }
  return { fields, changes };
}

// A group's container_config (JSON stored on the group): extra mounts, web destinations, daily budgets and
// sandbox limits. Keys this module does not know belong to other features and are kept as they are.
import { z } from 'zod';
import { parseDomainRule } from '../boundary/egress-policy.js';

export const mountRequestSchema = z
  .object({
    /** Host directory; `~` means the owner's home. Must lie under a root of the mount allowlist. */
    hostPath: z.string().min(1).max(4096),
    /** Name under /workspace/extra/ (defaults to the directory's name). */
    containerPath: z.string().min(1).max(64).optional(),
    /** Read-only unless false — and false is honoured only where the allowlist permits writing. */
    readonly: z.boolean().optional(),
  })
  .strict();
export type MountRequest = z.infer<typeof mountRequestSchema>;

const domain = z.string().superRefine((entry, ctx) => {
  try {
    parseDomainRule(entry);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const limitsSchema = z
  .object({
    memoryMb: z.number().int().min(64),
    pids: z.number().int().min(16),
    cpus: z.number().positive().max(1024),
    /** Wall-clock cap for one run (one sandbox's life). */
    timeoutMs: z.number().int().min(1000),
  })
  .partial()
  .strict();

/** Each setting on its own, so one bad setting never takes the others down with it. */
export const containerConfigParts = {
  additionalMounts: z.array(mountRequestSchema).max(32),
  /** Web destinations this group may reach; absent: the install's default list. */
  egress: z.object({ allow: z.array(domain).max(500) }).strict(),
  /** Input + output tokens (cached included) per day in the install's time zone; absent: unlimited. */
  dailyTokenBudget: z.number().int().positive(),
  /** US dollars of model calls per day in the install's time zone, priced per model (prices.ts); absent: unlimited. */
  dailySpendUsd: z.number().positive().max(100_000),
  /** Sandbox limits over the install's defaults, e.g. {"memoryMb": 1024, "pids": 256, "cpus": 0.5, "timeoutMs": 600000}. */
  limits: limitsSchema,
  /** Disk the group's folder may take, in MB; absent: the install's default (CARAPACE_GROUP_DISK_QUOTA_MB). */
  diskQuotaMb: z.number().int().min(1).max(1024 * 1024),
};
type Part = keyof typeof containerConfigParts;

export type ContainerConfig = { [K in Part]?: z.infer<(typeof containerConfigParts)[K]> };

/**
 * What a setting falls back to when the stored one is invalid: nothing extra for the security settings (no
 * mounts, no web — never more than the owner asked for), the install's defaults for limits, and no budget.
 */
const FALLBACK: ContainerConfig = { additionalMounts: [], egress: { allow: [] }, limits: {}, dailyTokenBudget: undefined, dailySpendUsd: undefined, diskQuotaMb: undefined };

const describe = (part: Part, error: z.ZodError) =>
  error.issues.map((i) => `${[part, ...i.path].join('.')}: ${i.message}`).join('; ');

/** Read a stored config leniently: every valid setting is kept, each invalid one replaced by its fallback. */
export function readContainerConfig(raw: Record<string, unknown>): { config: ContainerConfig; problems: string[] } {
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const part of Object.keys(containerConfigParts) as Part[]) {
    if (raw[part] === undefined) continue;
    const parsed = containerConfigParts[part].safeParse(raw[part]);
    if (parsed.success) config[part] = parsed.data;
    else {
      config[part] = FALLBACK[part];
      problems.push(describe(part, parsed.error));
    }
  }
  return { config: config as ContainerConfig, problems };
}

/** The check every write of a container_config goes through: throws an error naming each bad field. */
export function validateContainerConfig(raw: Record<string, unknown>, groupName: string): ContainerConfig {
  const { config, problems } = readContainerConfig(raw);
  if (problems.length > 0) {
    throw new Error(
      `container_config of group "${groupName}" is invalid: ${problems.join('; ')}. Allowed: additionalMounts ` +
        `[{hostPath, containerPath?, readonly?}], egress {allow: [domains]}, dailyTokenBudget (a positive whole number), dailySpendUsd (dollars > 0), ` +
        `limits {memoryMb ≥ 64, pids ≥ 16, cpus > 0, timeoutMs ≥ 1000}, diskQuotaMb (a whole number ≥ 1).`,
    );
  }
  return config;
}

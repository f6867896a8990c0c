// The security-relevant part of a group's container_config (stored as JSON on the group). Other keys are kept
// as they are for other features.
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

export const securityConfigSchema = z.looseObject({
  additionalMounts: z.array(mountRequestSchema).max(32).optional(),
  /** Web destinations this group may reach; absent: the install's default list. */
  egress: z.object({ allow: z.array(domain).max(500) }).strict().optional(),
  /** Input + output tokens (cached included) per day in the install's time zone; absent: unlimited. */
  dailyTokenBudget: z.number().int().positive().optional(),
});
export type SecurityConfig = z.infer<typeof securityConfigSchema>;

/**
 * The group's config, or — when it is malformed — one that fails closed: no extra mounts and no web access
 * (the budget stays unset rather than silencing the agent). `problem` says what was wrong.
 */
export function readSecurityConfig(raw: Record<string, unknown>): { config: SecurityConfig; problem?: string } {
  const parsed = securityConfigSchema.safeParse(raw);
  if (parsed.success) return { config: parsed.data };
  return { config: { additionalMounts: [], egress: { allow: [] } }, problem: z.prettifyError(parsed.error) };
}

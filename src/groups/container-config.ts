// A group's sandbox limits: the install's defaults, overridden by `limits` in the group's container_config JSON,
// e.g. {"limits": {"memoryMb": 1024, "pids": 256, "cpus": 0.5, "timeoutMs": 600000}}.
import { z } from 'zod';
import type { Config } from '../config.js';
import type { ResourceLimits } from '../sandbox/runtime.js';

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

export type GroupLimits = z.infer<typeof limitsSchema>;

/** The `limits` part of a group's container_config; other keys belong to other features and are left alone. */
export function groupLimits(containerConfig: Record<string, unknown>, groupName: string): GroupLimits {
  const parsed = limitsSchema.safeParse(containerConfig.limits ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'limits'}: ${i.message}`).join('; ');
    throw new Error(
      `container_config.limits of group "${groupName}" is invalid (${issues}). Allowed: memoryMb (≥ 64), pids (≥ 16), cpus (> 0), timeoutMs (≥ 1000).`,
    );
  }
  return parsed.data;
}

/** The limits a group's sandboxes run with. */
export function sandboxLimits(config: Config, group: { name: string; containerConfig: Record<string, unknown> }): ResourceLimits {
  const own = groupLimits(group.containerConfig, group.name);
  return {
    memoryMb: own.memoryMb ?? config.sandbox.memoryMb,
    pids: own.pids ?? config.sandbox.pids,
    cpus: own.cpus ?? config.sandbox.cpus,
    wallClockMs: own.timeoutMs ?? config.runTimeoutMs,
  };
}

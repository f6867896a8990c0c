// A group's sandbox limits and disk quota: the install's defaults, overridden by the group's container_config.
import type { Config } from '../config.js';
import type { ResourceLimits } from '../sandbox/runtime.js';
import { readContainerConfig } from './group-config.js';

/** The limits a group's sandboxes run with; invalid stored limits give way to the defaults (GroupPolicy warns). */
export function sandboxLimits(config: Config, group: { containerConfig: Record<string, unknown> }): ResourceLimits {
  const own = readContainerConfig(group.containerConfig).config.limits ?? {};
  return {
    memoryMb: own.memoryMb ?? config.sandbox.memoryMb,
    pids: own.pids ?? config.sandbox.pids,
    cpus: own.cpus ?? config.sandbox.cpus,
    wallClockMs: own.timeoutMs ?? config.runTimeoutMs,
  };
}

/** Bytes the group's folder may take: its own `diskQuotaMb`, else the install's default. */
export function diskQuotaBytes(config: Config, group: { containerConfig: Record<string, unknown> }): number {
  const mb = readContainerConfig(group.containerConfig).config.diskQuotaMb ?? config.sandbox.diskQuotaMb;
  return mb * 1024 * 1024;
}

// The shape of a host operation an agent may request (the registry is in registry.ts; task ops in task-ops.ts).
import type { z } from 'zod';
import type { MountRequest } from '../groups/group-config.js';
import { SettingsError } from '../groups/settings-schema.js';
import type { Group, NewGroup, Store } from '../store/store.js';

/** What task operations need besides the store. */
export interface TaskEnv {
  timeZone: string;
  /** The shortest gap allowed between two runs of a repeating task (interval or cron). */
  minIntervalMs: number;
  now: () => number;
  /** Tasks changed: the scheduler re-arms its timer. */
  changed: () => void;
}

/** What the host lends ops that change more than the store. */
export interface OpHost {
  /** Register a chat as a group and create its folder. */
  registerGroup(g: NewGroup): Group;
  /** Something was queued in the outbox: deliver it. */
  deliver(): void;
  /** The domain list of groups without their own. */
  defaultEgressAllow: readonly string[];
  /** Time, timezone and the scheduler, for the task operations. */
  tasks: TaskEnv;
  /** Group administration beyond the store (group-ops.ts). */
  groups: GroupAdmin;
}

export interface GroupAdmin {
  /** Why each of these extra mounts would be refused for `group` by the mount allowlist (empty: all allowed). */
  mountRefusals(group: Group, mounts: MountRequest[]): string[];
  /** The agent's one-line reason for wanting `host`: shown on the owner's approval card when it connects there. */
  noteAccessReason(group: Group, host: string, reason: string): void;
  /** Stop the group's live run, forget the group and archive its folder; resolves with the archive's path. */
  unregister(group: Group, actor: string): Promise<string>;
  /** Settings changed: a live sandbox that was built with the old mounts or limits finishes its turn and is not reused. */
  settingsChanged(group: Group, changed: string[]): void;
}

export interface OpContext {
  /** The group whose sandbox sent the request. */
  group: Group;
  runId: string;
  /** The request's output seq: with runId, the idempotency key of anything it queues. */
  seq: number;
  store: Store;
  host: OpHost;
}

export class OpError extends Error {}

/** Run `fn`; a bad setting it reports is the agent's to fix, so its message becomes the op's answer. */
export function explained<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SettingsError) throw new OpError(err.message);
    throw err;
  }
}

export interface Op<A> {
  mainOnly: boolean;
  args: z.ZodType<A>;
  run: (ctx: OpContext, args: A) => unknown;
}
export const op = <A>(o: Op<A>) => o as Op<unknown>;

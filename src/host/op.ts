// The shape of a host operation an agent may request (see ops.ts for the registry).
import type { Store, Group } from '../store/store.js';
import type { TaskEnv } from './tasks.js';

export interface OpContext {
  /** The group whose sandbox sent the request: the only source of authority. */
  group: Group;
  runId: string;
  store: Store;
  tasks: TaskEnv;
}

/** A refusal or bad input; its message is shown to the agent. */
export class OpError extends Error {}

export interface Op {
  mainOnly: boolean;
  run: (ctx: OpContext, args: unknown) => unknown;
}

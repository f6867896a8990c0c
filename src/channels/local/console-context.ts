// What the console's API modules share: the running install's parts, and how an owner's action becomes a host op
// (the console acts with the main chat's authority, as the owner does from there).
import type { Config } from '../../config.js';
import type { Orchestrator } from '../../core/orchestrator.js';
import type { RunBoard } from '../../core/run-board.js';
import { OpError, runOp, type OpContext } from '../../ops/registry.js';
import type { SandboxRuntime } from '../../sandbox/runtime.js';
import type { Store } from '../../store/store.js';
import type { ChannelHealth } from '../channel.js';

export interface ConsoleDeps {
  config: Config;
  store: Store;
  orchestrator: Orchestrator;
  runtime: SandboxRuntime;
  board: RunBoard;
  channelHealth: () => Record<string, ChannelHealth>;
}

/** A refusal the owner sees as is (HTTP status 400 unless said otherwise). */
export class ConsoleError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

let seq = 0;

/** An op context acting as the main chat (no agent run: the id only keys what the op may queue). */
export function mainContext(deps: ConsoleDeps): OpContext {
  const { store, orchestrator } = deps;
  const main = store.mainGroup();
  if (!main) throw new ConsoleError('There is no main chat yet.', 409);
  return {
    group: main,
    runId: `console-${Date.now().toString(36)}`,
    seq: ++seq,
    store,
    host: orchestrator.opHost,
  };
}

/** Run a host op; its refusals become the console's. */
export async function viaOp(ctx: OpContext, name: string, args: unknown): Promise<unknown> {
  try {
    return await runOp(ctx, name, args);
  } catch (err) {
    if (err instanceof OpError) throw new ConsoleError(err.message);
    throw err;
  }
}

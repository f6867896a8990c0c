// What every part of the orchestration core shares: the deps it was given and the live state of one process.
import type { Logger } from 'pino';
import type { Channel } from '../channels/channel.js';
import type { Config } from '../config.js';
import type { DataPaths } from '../fs/paths.js';
import type { GroupQueue } from '../queue/group-queue.js';
import type { SandboxRuntime } from '../sandbox/runtime.js';
import type { Store } from '../store/store.js';
import type { AgentRun } from './agent-run.js';
import type { Delivery } from './delivery.js';

export interface Core {
  readonly config: Config;
  readonly store: Store;
  readonly runtime: SandboxRuntime;
  readonly channels: Channel[];
  readonly log: Logger;
  readonly paths: DataPaths;
  readonly queue: GroupQueue;
  readonly delivery: Delivery;
  /** The live run of each group that has one. */
  readonly live: Map<number, AgentRun>;
  /** Why each group's last attempt failed, for the note when the queue gives up. */
  readonly lastErrors: Map<number, string>;
  /** True once shutdown began: no new work is taken. */
  stopping(): boolean;
}

/** The channel that owns a chat id (ids are namespaced by channel). */
export function channelOf(core: Pick<Core, 'channels'>, chatId: string): Channel | undefined {
  return core.channels.find((c) => c.owns(chatId));
}

/** Show or hide "typing…"; a channel that cannot is not worth failing anything over. */
export function setTyping(core: Pick<Core, 'channels'>, chatId: string, typing: boolean): void {
  void channelOf(core, chatId)?.setTyping(chatId, typing).catch(() => undefined);
}

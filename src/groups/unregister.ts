// Removing a group: the store forgets it (its tasks, sessions and runs go with it; its chat's messages and its
// spend stay), and its folder and agent state move into the host-only archive, where the owner finds them.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DataPaths } from '../fs/paths.js';
import type { Group, Store } from '../store/store.js';

/** "20261130-065433": when it was removed, in UTC, so archives sort by time. */
const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

/**
 * Forget `group` and archive its folder; returns the archive's path. The caller makes sure no run of it is
 * live. A thread works in its parent's folder, which stays where it is.
 */
export function unregisterGroup(store: Store, paths: DataPaths, group: Group, actor: string, now = Date.now()): string {
  if (group.isMain) throw new Error('The main chat cannot be removed.');
  const archive = join(paths.archives(group.folder), `removed-${stamp(now)}`);
  mkdirSync(archive, { recursive: true, mode: 0o700 });
  // Renaming moves the directories themselves: nothing an agent put inside them is followed or read.
  const moves: [string, string][] = [[dirname(paths.agentState(group.folder)), join(archive, 'state')]];
  if (group.workspace === group.folder) moves.push([paths.group(group.folder), join(archive, 'folder')]);
  for (const [from, to] of moves) if (existsSync(from)) renameSync(from, to);
  store.db.transaction(() => {
    store.logGroupChange({ at: now, groupId: group.id, folder: group.folder, actor, change: { removed: { archivedTo: archive } } });
    store.deleteGroup(group.id);
  })();
  return archive;
}

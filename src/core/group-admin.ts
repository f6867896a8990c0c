// What the group and spend ops need from the running host: stopping a removed group's live runs before the
// store forgets it, checking extra mounts against the allowlist, and telling the owner about spend.
import type { GroupPolicy } from '../groups/group-policy.js';
import type { SpendAlert } from '../groups/spend-alerts.js';
import { scopeKey } from '../groups/spend.js';
import { unregisterGroup } from '../groups/unregister.js';
import type { GroupAdmin } from '../ops/op.js';
import type { Group } from '../store/store.js';
import type { Core } from './core.js';
import { approvalDesk } from './egress-approvals.js';
import { postNotice } from './notes.js';

/** Settings a sandbox is built with: changing one closes the group's live sandbox so the next run has it. */
const SANDBOX_SETTINGS = new Set(['extraMounts', 'limits', 'diskQuotaMb']);

/** How long a removed group's run may take to stop before removal gives up (the sandbox is killed at 1 s). */
const STOP_WAIT_MS = 15_000;

export function groupAdmin(core: Core, policy: GroupPolicy, tasksChanged: () => void): GroupAdmin {
  return {
    mountRefusals: (group, mounts) => policy.mountRefusals(group, mounts),
    noteAccessReason: (group, host, reason) => approvalDesk(core.config.dataDir).noteReason(group.id, host, reason),
    settingsChanged(group, changed) {
      if (!changed.some((key) => SANDBOX_SETTINGS.has(key))) return; // web access, budgets and triggers apply live
      for (const g of core.store.listGroups()) {
        if (g.id !== group.id && g.parentId !== group.id) continue;
        const run = core.live.get(g.id);
        if (run?.open) run.close(); // finishes its turn; the next message gets a sandbox with the new settings
      }
    },
    async unregister(group, actor) {
      // The group and its threads (they go with it) stop first: no run may outlive its group's row.
      const affected = core.store.listGroups().filter((g) => g.id === group.id || g.parentId === group.id);
      await Promise.all(affected.map((g) => stopLiveRun(core, g)));
      const archive = unregisterGroup(core.store, core.paths, group, actor);
      tasksChanged();
      core.log.info({ group: group.folder, actor, archive }, 'group removed; its folder is archived');
      return archive;
    },
  };
}

/** Stop a group's live run and wait until its end has been recorded. */
async function stopLiveRun(core: Core, group: Group): Promise<void> {
  const run = core.live.get(group.id);
  if (!run) return;
  run.retired = true;
  await run.stop('its group was removed');
  const end = Date.now() + STOP_WAIT_MS;
  // The run's end is recorded right after it leaves `live`, in the same turn.
  while (core.live.get(group.id) === run) {
    if (Date.now() > end) throw new Error(`the run of "${group.folder}" did not stop`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A budget reached 80 % or 100 %: the owner hears it in the main chat; at 100 % the group's chat too. */
export function alertOwner(core: Core, alert: SpendAlert): void {
  const { store, log } = core;
  log.warn({ scope: scopeKey(alert.scope), level: alert.level }, 'spend warning');
  const key = `spend-${scopeKey(alert.scope)}-${alert.level}-${Date.now()}`;
  const main = store.mainGroup();
  if (main) postNotice(core, main, key, alert.text);
  const group = alert.scope === 'total' ? undefined : store.groupById(alert.scope);
  if (alert.level === 100 && group && !group.isMain) {
    postNotice(core, group, key, "⛔ This chat has used today's budget, so I'll stop here until tomorrow — unless the owner extends it.");
  }
}

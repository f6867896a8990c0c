// What a run's sandbox is made of: its mounts (group folder, agent state, global memory, the run's in/out, the two
// proxy sockets, the group's allowlisted extra mounts), environment, user, network and limits.
import { join } from 'node:path';
import { APP_ROOT } from '../app-root.js';
import { sandboxLimits } from '../groups/container-config.js';
import { EGRESS_SOCKET, GROUP_MOUNT, IPC_MOUNT, MODEL_SOCKET } from '../ipc/protocol.js';
import { APP_MOUNT, type SandboxSpec } from '../sandbox/runtime.js';
import type { Group } from '../store/store.js';
import type { Config } from '../config.js';
import type { DataPaths } from '../fs/paths.js';
import type { GroupPolicy } from '../groups/group-policy.js';

/** Which run a spec is for. */
export interface RunIdentity {
  deps: { config: Config; paths: DataPaths; policy: GroupPolicy; installLabels: Record<string, string> };
  group: Group;
  runId: string;
  runDir: string;
  /** The sandbox's name. */
  name: string;
}

export function runSandboxSpec(run: RunIdentity, groupDir: string, stateDir: string, sockets: { model: string; egress: string }): SandboxSpec {
  const { config, paths, policy } = run.deps;
  return {
    name: run.name,
    labels: { ...run.deps.installLabels, 'carapace.group': run.group.folder, 'carapace.run': run.runId },
    mounts: [
      { host: groupDir, sandbox: GROUP_MOUNT, readonly: false },
      { host: stateDir, sandbox: '/home/agent/.claude', readonly: false },
      // Everyone reads global memory; only main may change it.
      { host: paths.globalMemory, sandbox: '/workspace/global', readonly: !run.group.isMain },
      // The run dir is read-only so the agent cannot swap in/ or out/ for links into the host.
      { host: run.runDir, sandbox: IPC_MOUNT, readonly: true },
      { host: join(run.runDir, 'in'), sandbox: `${IPC_MOUNT}/in`, readonly: false },
      { host: join(run.runDir, 'out'), sandbox: `${IPC_MOUNT}/out`, readonly: false },
      { host: sockets.model, sandbox: MODEL_SOCKET, readonly: true },
      { host: sockets.egress, sandbox: EGRESS_SOCKET, readonly: true },
      ...policy.extraMounts(run.group),
    ],
    // The runner's package at APP_MOUNT: bwrap mounts it from here, image backends carry it in their image.
    appDir: APP_ROOT,
    workdir: GROUP_MOUNT,
    env: {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: '/home/agent',
      CLAUDE_CONFIG_DIR: '/home/agent/.claude',
      LANG: 'C.UTF-8',
      TZ: config.timeZone,
    },
    user: { uid: config.sandbox.uid, gid: config.sandbox.gid },
    // Runs of one group may share one loopback-only namespace (engines keep it between runs: faster starts).
    network: { mode: 'none', share: { key: run.group.folder, labels: run.deps.installLabels } },
    limits: sandboxLimits(config, run.group),
    command: ['node', `${APP_MOUNT}/dist/src/runner/main.js`],
  };
}

import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AgentTree, type Owner } from './safe-write.js';

/** Where everything lives under the data directory. */
export function dataPaths(dataDir: string) {
  return {
    db: join(dataDir, 'carapace.db'),
    groupsDir: join(dataDir, 'groups'),
    /** A group's folder: the agent's cwd and memory (CLAUDE.md). */
    group: (folder: string) => join(dataDir, 'groups', assertFolderName(folder)),
    /** Memory every group reads (mounted read-only except for main). */
    globalMemory: join(dataDir, 'global'),
    /**
     * Skills every agent loads (`<name>/SKILL.md`): global memory is an additional directory of every run, and the
     * SDK loads `.claude/skills` of additional directories, so they need no mount of their own.
     */
    globalSkills: join(dataDir, 'global', '.claude', 'skills'),
    /** Host-only: which shipped agent skills were installed once already (never again, so deletions stick). */
    installedAgentSkills: join(dataDir, 'agent-skills.json'),
    /** The SDK's private state for one group (sessions, transcripts); never shared between groups. */
    agentState: (folder: string) => join(dataDir, 'state', assertFolderName(folder), 'claude'),
    /** The SDK's transcript of a session (Claude Code names project dirs after the cwd, /workspace/group). */
    transcript: (folder: string, sessionId: string) => {
      if (!isSessionId(sessionId)) throw new Error(`Invalid session id ${JSON.stringify(sessionId)}`);
      return join(dataDir, 'state', assertFolderName(folder), 'claude', 'projects', '-workspace-group', `${sessionId}.jsonl`);
    },
    /** Host-only copies of transcripts archived by /clear (never mounted), before one is copied into the group. */
    archives: (folder: string) => join(dataDir, 'archives', assertFolderName(folder)),
    /** One directory per run, mounted at /ipc: start.json, in/, out/ (with the heartbeat). */
    run: (runId: string) => join(dataDir, 'runs', runId),
    runsDir: join(dataDir, 'runs'),
    /** Run outputs the host would not accept (malformed, oversized, not a file), kept for inspection. */
    rejectedDir: join(dataDir, 'rejected'),
    sandboxState: join(dataDir, 'sandboxes'),
    localToken: join(dataDir, 'local-chat.token'),
    /** JSON-lines logs, rotated by size: carapace.1.log, carapace.2.log, …; current.log links to the one written. */
    logsDir: join(dataDir, 'logs'),
    /** What the running instance tells `carapace status`: pid, start time, backend, web address (no secrets). */
    instanceInfo: join(dataDir, 'instance.json'),
    /** The running `carapace start` holds an exclusive SQLite lock on this file: one instance per data directory. */
    instanceLock: join(dataDir, 'instance.lock'),
    /** The pid of the instance holding the lock, for what a second start says. */
    instancePid: join(dataDir, 'instance.pid'),
    /** Host-private copies of files agents asked to send, kept until delivered. */
    outboxFiles: join(dataDir, 'outbox-files'),
    /** The WhatsApp login (Signal keys and credentials): owner-only, never mounted anywhere. */
    whatsappAuth: join(dataDir, 'whatsapp', 'auth'),
    whatsappLock: join(dataDir, 'whatsapp', 'login.lock'),
    /** Bot channels' saved credentials (`<name>.json`): owner-only, never mounted anywhere. */
    channelSecrets: (name: string) => join(dataDir, 'channels', `${assertFolderName(name)}.json`),
  };
}
export type DataPaths = ReturnType<typeof dataPaths>;

/**
 * Who may enter the data directory, and read the store. The directory holds the database, tokens and every
 * group's files: ours alone (0700). As root, bubblewrap runs as the sandbox uid, which must pass through it to
 * its group's folder, so there it may traverse but not list (0711). The database files are ours alone always.
 * Modes are set explicitly (chmod), so the umask changes nothing.
 */
export function dataModes(): { dir: number; database: number } {
  return { dir: process.getuid?.() === 0 ? 0o711 : 0o700, database: 0o600 };
}

/** Create the data directory, or tighten one an older Carapace created (0755), to `dataModes().dir`. */
export function secureDataDir(dataDir: string): void {
  const { dir } = dataModes();
  mkdirSync(dataDir, { recursive: true, mode: dir });
  chmodSync(dataDir, dir);
}

/** The SDK's session ids are UUIDs. They come from inside a sandbox and name host files (transcripts): nothing else. */
export const SESSION_ID = /^[0-9a-f-]{8,64}$/i;

export const isSessionId = (id: unknown): id is string => typeof id === 'string' && SESSION_ID.test(id);

/** Group folder names become host paths: letters, digits, "-" and "_" only, so no traversal is expressible. */
export function assertFolderName(folder: string): string {
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/i.test(folder)) {
    throw new Error(
      `Invalid group folder name ${JSON.stringify(folder)}: use 1–64 letters, digits, "-" or "_", starting with a letter or digit.`,
    );
  }
  return folder;
}

/**
 * Create a directory the sandbox user can write. As root we hand it over (files the host puts inside must be
 * handed over by whoever writes them); otherwise the user namespace maps our uid to the sandbox uid.
 * `path` is a tree root the host made (a group folder, a run's in/): the agent cannot replace it.
 */
export function ensureSandboxDir(path: string, owner: Owner): string {
  mkdirSync(path, { recursive: true });
  giveToSandbox(path, owner);
  return path;
}

/**
 * Hand `path` to the sandbox user (as root). Its last component is never followed: a link planted there is
 * refused (UnsafePathError). Every directory above it must be the host's; for a path deeper inside an agent's
 * tree use AgentTree.chown, which checks each component.
 */
export function giveToSandbox(path: string, owner: Owner): void {
  new AgentTree(dirname(path), owner).chown(basename(path));
}

/** The nearest directory at or above `dir` that contains `file`. */
export function findUp(dir: string, file: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, file))) return d;
    if (dirname(d) === d) throw new Error(`no ${file} found above ${dir}`);
  }
}

/**
 * As root, bubblewrap runs as the sandbox uid, which must be able to walk down to every mount source.
 * Say which directory blocks it instead of failing later with a bare "Can't find source path".
 */
export function assertSandboxCanReach(path: string, owner: { uid: number; gid: number }): void {
  if (process.getuid?.() !== 0) return; // unprivileged: the user namespace maps our own uid
  for (let dir = path; ; dir = dirname(dir)) {
    const st = statSync(dir);
    const passable = st.uid === owner.uid ? st.mode & 0o100 : st.gid === owner.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!passable) {
      throw new Error(
        `The sandbox user (uid ${owner.uid}) cannot reach ${path}: ${dir} is not searchable for it. ` +
          `Allow it with \`chmod o+x ${dir}\` or move Carapace's data/project directory elsewhere.`,
      );
    }
    if (dirname(dir) === dir) return;
  }
}

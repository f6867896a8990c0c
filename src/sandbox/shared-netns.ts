// Loopback-only network namespaces kept alive between the sandboxes of one group (Docker only). Docker's
// `--network none` gives every container a namespace of its own, and setting one up costs ~170 ms of each start
// on this kind of machine (docs/runtimes.md); joining the namespace of an idle holder container costs nothing.
// A holder is itself a `--network none` container (no capabilities, read-only, non-root, tiny limits) that only
// sleeps, so joined sandboxes still see nothing but `lo`; groups never share one. Holders are capped in number:
// the least recently used idle one is removed when a new group needs one beyond the cap.
import { createHash } from 'node:crypto';
import { firstLine, runCli, type Cli } from './cli.js';
import type { NetworkShare } from './runtime.js';
import { containerHardening } from './spec.js';

/** Label that marks a holder, so listings of sandboxes can leave it out. */
export const HOLDER_LABEL = 'carapace.netns-holder';

/** One sandbox's use of a share: the holder container to join, and how to say the sandbox ended. */
export interface NetworkLease {
  holder: string;
  /** A failed sandbox may have failed because the holder was gone: the next acquire waits for that answer. */
  release(failed: boolean): Promise<void>;
}

interface Holder {
  name: string;
  ready: Promise<void>;
  users: number;
  lastUsed: number;
  /** Whether it still runs, asked after a sandbox in it failed; the next start waits for the answer. */
  check?: Promise<void>;
}

export class SharedNetworks {
  private readonly holders = new Map<string, Holder>();

  constructor(
    private readonly cli: Cli,
    private readonly max: number,
  ) {}

  /** The holder container's name for a share, deterministic so a crashed process's holder is found again. */
  static holderName(share: NetworkShare): string {
    const id = createHash('sha256').update(JSON.stringify([share.key, share.labels])).digest('hex').slice(0, 16);
    return `carapace-netns-${id}`;
  }

  /** Take the share's namespace for one sandbox (starting its holder if needed); release the lease when it ends. */
  async acquire(share: NetworkShare, image: string, user: { uid: number; gid: number }): Promise<NetworkLease> {
    const name = SharedNetworks.holderName(share);
    await this.holders.get(name)?.check;
    let holder = this.holders.get(name);
    if (!holder) {
      holder = { name, ready: this.startHolder(name, share, image, user), users: 0, lastUsed: 0 };
      this.holders.set(name, holder);
    }
    holder.users++;
    holder.lastUsed = performance.now();
    if (this.holders.size > this.max) void this.evictIdle();
    try {
      await holder.ready;
    } catch (e) {
      if (this.holders.get(name) === holder) this.holders.delete(name);
      throw e;
    }
    const used = holder;
    return { holder: name, release: (failed) => this.release(used, failed) };
  }

  /**
   * One sandbox in the holder's namespace ended. A failed one may have failed because the holder was gone
   * (removed from outside): ask, and forget a holder that no longer runs so the next sandbox starts a new one.
   */
  private release(holder: Holder, failed: boolean): Promise<void> {
    holder.users--;
    if (failed) holder.check = this.forgetIfGone(holder); // set before the caller reports the exit
    return holder.check ?? Promise.resolve();
  }

  private async forgetIfGone(holder: Holder): Promise<void> {
    const r = await runCli(this.cli, ['inspect', '--format', '{{.State.Running}}', holder.name], 15_000);
    if ((r.code !== 0 || r.stdout.trim() !== 'true') && this.holders.get(holder.name) === holder) this.holders.delete(holder.name);
  }

  /** Remove every holder this process started (the orchestrator is stopping). */
  async closeAll(): Promise<void> {
    const names = [...this.holders.keys()];
    this.holders.clear();
    if (names.length) await runCli(this.cli, ['rm', '-f', ...names], 60_000);
  }

  /** Forget the holders (orphan cleanup removed them with everything else of this install). */
  forget(): void {
    this.holders.clear();
  }

  private async evictIdle(): Promise<void> {
    const idle = [...this.holders.values()].filter((h) => h.users === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    const excess = idle.slice(0, Math.max(0, this.holders.size - this.max));
    for (const h of excess) this.holders.delete(h.name);
    if (excess.length) await runCli(this.cli, ['rm', '-f', ...excess.map((h) => h.name)], 60_000);
  }

  private async startHolder(name: string, share: NetworkShare, image: string, user: { uid: number; gid: number }): Promise<void> {
    await runCli(this.cli, ['rm', '-f', name], 60_000); // one a crashed process left: its state is unknown
    const labels = Object.entries({ ...share.labels, [HOLDER_LABEL]: '1' }).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    const r = await runCli(this.cli, [
      'run', '--detach', '--name', name, ...labels,
      '--network', 'none', '--hostname', 'sandbox',
      ...containerHardening(user),
      '--memory', '16m', '--memory-swap', '16m', '--pids-limit', '4',
      image, 'sleep', 'infinity',
    ]);
    if (r.code !== 0) throw new Error(`could not start the network holder ${name}: ${firstLine(r)}`);
  }
}

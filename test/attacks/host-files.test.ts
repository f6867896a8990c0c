// Attacks on the host's side of the file boundary: an agent that controls its own folder, its SDK state and its
// run's in/ and out/ plants links, FIFOs, files and directories where the host will write, read or chown, and
// kills or stops its own runner while the host answers it. Each attack must leave the host file outside
// untouched (content, owner, mode), the orchestrator alive and answering another chat, the run ended with its
// reason in the log, and, where the user asked for something, a note in the chat saying what went wrong.
import { existsSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Channel, ChannelHost } from '../../src/channels/channel.js';
import { saveMedia } from '../../src/channels/whatsapp/media.js';
import type { WASocketLike } from '../../src/channels/whatsapp/socket.js';
import { UnsafePathError } from '../../src/fs/safe-write.js';
import pino from 'pino';
import { ATTACK_RUNTIMES, bash } from '../support/attack-runtimes.js';
import { FakeMediaCdn, waMessage } from '../support/fake-whatsapp.js';
import { sandboxReadableTempDir, startHarness, type Harness } from '../support/harness.js';
import { addGroup, logLines, runStep, sayIn, stepScript } from '../support/scenario.js';
import { until } from '../support/wait.js';

const HOST_KEYS = 'ssh-ed25519 AAAA-the-host-owners-only-key';
const HOST_JSONL = `${JSON.stringify({ type: 'user', message: { role: 'user', content: 'HOST-SECRET-TRANSCRIPT' } })}\n`;
/** The runner's pid, found through /proc (no pgrep in every image; the CLI's shell wraps grep, so no grep). */
const RUNNER_PIDS = `for p in /proc/[0-9]*; do case "$(tr '\\0' ' ' < $p/cmdline)" in ("node "*runner/main.js*) echo \${p#/proc/};; esac; done`;
const SESSION_FILE = 'ls -t ~/.claude/projects/-workspace-group/*.jsonl | head -1';
/** Runs `script` once per group folder: a retried run finds the marker and just reports. */
const once = (marker: string, script: string) => `if [ -e .${marker} ]; then echo "${marker}: already done"; else touch .${marker}; ${script}; fi`;
/** After the turn ends (the CLI is done with its transcript), do `script` in the background. */
const later = (script: string) => `setsid nohup sh -c '${script.replace(/'/g, `'\\''`)}' >/dev/null 2>&1 & echo scheduled`;
const forgedRequest = (seq: number, chatId: string) =>
  `printf '%s' '${JSON.stringify({ type: 'request', seq, id: `forged-${seq}`, op: 'send_message', args: { chatId, text: `FORGED-${seq}` } })}' > /ipc/out/.f && mv /ipc/out/.f /ipc/out/${String(seq).padStart(8, '0')}.json`;

/** A channel that owns no chat and only keeps the host the orchestrator hands to channels (for media saves). */
class HostProbe implements Channel {
  readonly name = 'probe';
  host: ChannelHost | undefined;
  async connect(_sink: unknown, host?: ChannelHost) {
    this.host = host;
  }
  async disconnect() {}
  owns() {
    return false;
  }
  async send() {
    return '';
  }
  async setTyping() {}
}

describe.each(ATTACK_RUNTIMES)('attacks on host file handling ($name)', ({ create }) => {
  let h: Harness;
  let data: string;
  let outside: string;
  const probe = new HostProbe();
  const cdn = new FakeMediaCdn();
  const crashes: unknown[] = [];
  const onCrash = (err: unknown) => void crashes.push(err);

  /** Run one named step in a chat; resolves with what its tools returned. */
  const attack = (step: string, chatId = 'local:family', timeoutMs = 60_000) => runStep(h, chatId, step, timeoutMs);
  /** /clear in the family chat; resolves with the host's note. */
  async function clear(): Promise<string> {
    const after = h.app.store.recentMessages('local:family', 1).at(-1)?.id ?? 0;
    sayIn(h, 'local:family', '/clear');
    const note = await until(() => h.app.store.recentMessages('local:family', 100).find((m) => m.id > after && m.fromAssistant && m.text.startsWith('Started a fresh')));
    return note.text;
  }
  const logged = (msg: string, match: (l: any) => boolean = () => true) => until(() => logLines(h).find((l) => l.msg === msg && match(l)), 30_000, () => `log line "${msg}"`);
  const stat = (p: string) => {
    const st = statSync(p);
    return { uid: st.uid, gid: st.gid, mode: st.mode, size: st.size };
  };
  let before: Record<string, ReturnType<typeof stat>>;
  const hostFiles = () => Object.fromEntries(['', 'authorized_keys', 'transcript.jsonl'].map((f) => [f, stat(join(outside, f))]));

  /** What every attack must leave behind: the host's files as they were, and a host that still answers. */
  async function hostSurvived() {
    expect(readdirSync(outside).sort()).toEqual(['authorized_keys', 'transcript.jsonl']);
    expect(readFileSync(join(outside, 'authorized_keys'), 'utf8')).toBe(HOST_KEYS);
    expect(hostFiles()).toEqual(before); // neither content nor owner nor mode: no chown reached a link's target
    expect(await attack('ping', 'local:work')).toContain('pong');
    expect(crashes).toEqual([]);
  }

  beforeAll(async () => {
    process.on('unhandledRejection', onCrash);
    process.on('uncaughtException', onCrash);
    await cdn.start();
    outside = sandboxReadableTempDir('carapace-host-files-');
    writeFileSync(join(outside, 'authorized_keys'), HOST_KEYS, { mode: 0o600 });
    writeFileSync(join(outside, 'transcript.jsonl'), HOST_JSONL, { mode: 0o600 });
    h = await startHarness({ runtime: create, channels: () => [probe], env: { CARAPACE_CLOSE_GRACE_MS: '3000' } });
    data = h.dataDir;
    addGroup(h, 'work');
    addGroup(h, 'family', { containerConfig: { allowSessionCommands: true } });
    before = hostFiles();
    const state = `${data}/state`;
    h.fake.setScript(
      stepScript({
        ping: bash('echo pong'),
        'link conversations': bash(`rm -rf conversations; ln -s ${outside} conversations; echo planted`),
        'file as conversations': bash('rm -rf conversations; echo not-a-dir > conversations; echo planted'),
        'predict archive names': bash(
          `rm -rf conversations; mkdir conversations; sid=$(basename $(${SESSION_FILE}) .jsonl); ` +
            `for i in $(seq 0 120); do ln -s ${outside}/authorized_keys conversations/$(date -u -d "+$i sec" +%Y-%m-%dT%H-%M-%S)-\${sid:0:8}.md; done; ls conversations | wc -l`,
        ),
        'link transcript to host file': bash(`rm -rf conversations; ${later(`sleep 1; f=$(${SESSION_FILE}); rm -f "$f"; ln -s ${outside}/transcript.jsonl "$f"`)}`),
        'link state to another group': bash(`${later(`sleep 1; cd ~/.claude; mv projects projects.real; ln -s ${state}/work/claude/projects projects`)}`),
        'fifo as transcript': bash(`${later(`sleep 1; f=$(${SESSION_FILE}); rm -f "$f"; mkfifo "$f"`)}`),
        'link media': bash(`rm -rf media; ln -s ${outside} media; echo planted`),
        'fifo as media file': bash('rm -rf media; mkdir media; mkfifo media/2026-11-30-FIFO1.jpg; echo planted'),
        'block inputs and stop runner': bash(
          once(
            'stopped',
            `for p in $(${RUNNER_PIDS}); do kill -STOP $p; done; ` +
              `for i in $(seq 1 40); do mkdir -p /ipc/in/$(printf %08d $i).json; done; ${forgedRequest(900, 'local:family')}; echo forged`,
          ),
        ),
        'kill runner mid-request': bash(once('killed', `${forgedRequest(901, 'local:family')}; sleep 0.2; for p in $(${RUNNER_PIDS}); do kill -KILL $p; done; echo killed`)),
        // Made under a temp name and renamed in, as the protocol does: the host sees it whole, at its full size.
        'giant output': bash('truncate -s 2G /ipc/out/.giant && mv /ipc/out/.giant /ipc/out/00000902.json; echo planted'),
        'link global memory': bash(`rm -f /workspace/global/CLAUDE.md; ln -s ${outside}/created-by-host /workspace/global/CLAUDE.md; echo planted`),
      }),
    );
    expect(await attack('ping', 'local:work')).toContain('pong');
  });

  afterEach(() => {
    // Undo what an attack left in the family's state, so that the next attack's runs work normally.
    rmSync(join(data, 'groups/family/conversations'), { recursive: true, force: true });
    const claude = join(data, 'state/family/claude');
    if (lstatSync(join(claude, 'projects'), { throwIfNoEntry: false })?.isSymbolicLink()) {
      rmSync(join(claude, 'projects'));
      renameSync(join(claude, 'projects.real'), join(claude, 'projects'));
    }
  });

  afterAll(async () => {
    await h?.close();
    await cdn.close();
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
    rmSync(outside, { recursive: true, force: true });
  });

  it('replaces conversations/ with a symlink to a host directory, then asks for /clear', async () => {
    expect(await attack('link conversations')).toContain('planted');
    const note = await clear();
    expect(note).toBe('Started a fresh conversation. The previous one could not be saved in conversations/ (conversations is a symbolic link); the host kept a copy.');
    const line = await logged('could not save the archived conversation in the group folder', (l) => l.group === 'family');
    expect(line.err).toBe('conversations is a symbolic link');
    expect(readFileSync(line.keptAt, 'utf8')).toContain('link conversations'); // nothing lost: the host-only copy
    await hostSurvived();
  });

  it('makes conversations a regular file, then asks for /clear', async () => {
    expect(await attack('file as conversations')).toContain('planted');
    expect(await clear()).toContain('(conversations exists and is a regular file, not a directory); the host kept a copy.');
    expect(readFileSync(join(data, 'groups/family/conversations'), 'utf8')).toBe('not-a-dir\n');
    await hostSurvived();
  });

  it('pre-plants the predicted archive file names as symlinks to a host file, then asks for /clear', async () => {
    expect(await attack('predict archive names')).toMatch(/\b121\b/);
    const note = await clear();
    const name = /saved in conversations\/(.+\.md)\.$/.exec(note)?.[1];
    expect(name, note).toBeDefined();
    const archive = join(data, 'groups/family/conversations', name!);
    expect(statSync(archive, { throwIfNoEntry: true }).isFile()).toBe(true); // the link was replaced, not followed
    expect(readFileSync(archive, 'utf8')).toContain('predict archive names');
    if (process.getuid?.() === 0) expect(stat(archive).uid).toBe(h.config.sandbox.uid);
    expect(existsSync(join(data, 'archives/family', name!))).toBe(false); // saved in the folder: no host copy piles up
    await hostSurvived();
  });

  it("swaps its session transcript for a link to a host file, hoping /clear copies the file into its folder", async () => {
    expect(await attack('link transcript to host file')).toContain('scheduled');
    await new Promise((r) => setTimeout(r, 2500));
    const note = await clear();
    expect(note).toMatch(/^Started a fresh conversation\. The previous one could not be archived: projects\/-workspace-group\/[0-9a-f-]{36}\.jsonl is a symbolic link\.$/);
    await logged('could not read the transcript to archive before /clear', (l) => l.group === 'family');
    const hostCopies = join(data, 'archives/family');
    const archived = existsSync(hostCopies) ? readdirSync(hostCopies).map((f) => readFileSync(join(hostCopies, f), 'utf8')) : [];
    expect(archived.join('')).not.toContain('HOST-SECRET-TRANSCRIPT');
    await hostSurvived();
  });

  it("links its SDK state's projects/ to another group's state before /clear", async () => {
    expect(await attack('link state to another group')).toContain('scheduled');
    await new Promise((r) => setTimeout(r, 2500));
    expect(await clear()).toBe('Started a fresh conversation. The previous one could not be archived: projects is a symbolic link.');
    await hostSurvived();
  });

  it('swaps its transcript for a FIFO, so that the host reading it for /clear would block', async () => {
    expect(await attack('fifo as transcript')).toContain('scheduled');
    await new Promise((r) => setTimeout(r, 2500));
    expect(await clear()).toMatch(/could not be archived: projects\/-workspace-group\/[0-9a-f-]{36}\.jsonl is a FIFO, not a regular file\.$/);
    await hostSurvived();
    // The FIFO also blocks the agent's own CLI when it next writes its transcript, so that run never finishes
    // its close: the close deadline stops it, and the group's slot is free again.
    await logged('stopping the run', (l) => String(l.reason).includes('of being asked to close'));
    rmSync(join(data, 'state/family/claude/projects'), { recursive: true, force: true });
    expect(await attack('ping')).toContain('pong'); // the family chat is answered again, no restart needed
  });

  it('replaces media/ with a symlink to a host directory before a WhatsApp-style media save', async () => {
    expect(await attack('link media')).toContain('planted');
    const folder = probe.host!.groupFolder('local:family')!;
    const save = () => folder.save('media/2026-11-30-IMG1.jpg', Buffer.from('jpeg'));
    expect(save).toThrow(UnsafePathError);
    expect(save).toThrow('media is a symbolic link');
    // The WhatsApp channel's own download-and-save: the refusal becomes the message's note for the agent.
    const photo = await cdn.upload(Buffer.from('jpeg bytes'), 'image', 'img2.jpg');
    const message = waMessage({ chat: '120363000000000001@g.us', from: '4915100000002@s.whatsapp.net', id: 'IMG2', message: { imageMessage: { ...photo, mimetype: 'image/jpeg' } } });
    const sock = { updateMediaMessage: async (m: unknown) => m } as unknown as WASocketLike;
    const saved = await saveMedia(message, message.message!.imageMessage!, Date.now(), folder, { maxBytes: 1 << 20, sock, logger: pino({ level: 'silent' }) });
    expect(saved).toEqual({ ok: false, reason: 'could not be saved: media is a symbolic link', refused: true });
    // The channel tells the chat through the host, once per message however often the platform redelivers it.
    const notice = '⚠️ The image you sent could not be saved: media is a symbolic link; I cannot see it.';
    for (let i = 0; i < 2; i++) probe.host!.notice('local:family', 'media-IMG2', notice);
    await until(() => h.app.store.recentMessages('local:family', 20).some((m) => m.fromAssistant && m.text === notice));
    await new Promise((r) => setTimeout(r, 300));
    expect(h.app.store.recentMessages('local:family', 50).filter((m) => m.text === notice)).toHaveLength(1);
    await hostSurvived();
  });

  it('plants a FIFO under the next media file name: the save replaces it without blocking', async () => {
    expect(await attack('fifo as media file')).toContain('planted');
    probe.host!.groupFolder('local:family')!.save('media/2026-11-30-FIFO1.jpg', Buffer.from('jpeg'));
    const file = join(data, 'groups/family/media/2026-11-30-FIFO1.jpg');
    expect(statSync(file).isFile()).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('jpeg');
    await hostSurvived();
  });

  it("stops its own runner, fills in/ with directories named like the host's next inputs and forges a request", async () => {
    // The first attempt never reports (its runner is stopped); the run ends, and the retry finds the marker.
    expect(await attack('block inputs and stop runner', 'local:family', 90_000)).toContain('stopped: already done');
    const stopped = await logged('stopping the run', (l) => l.group === 'family' && /could not write input/.test(l.reason));
    expect(stopped.reason).toMatch(/^could not write input (\d{8}\.json): \1 exists and is a directory, not a regular file$/);
    const failed = await logged('run failed', (l) => l.group === 'family');
    expect(failed.error).toBe(stopped.reason);
    // The forged request was still answered as the family chat's own request, and nowhere else.
    expect(h.app.store.recentMessages('local:family', 100).some((m) => m.text === 'FORGED-900')).toBe(true);
    await hostSurvived();
  });

  it('kills its own runner while the host answers its request', async () => {
    expect(await attack('kill runner mid-request', 'local:family', 90_000)).toContain('killed: already done');
    const failed = await logged('run failed', (l) => l.group === 'family' && /sandbox exited|could not write input/.test(l.error));
    expect(failed.error).toBeTruthy();
    await hostSurvived();
  });

  it('leaves a 2 GB (sparse) output file: refused by its size, never read', async () => {
    expect(await attack('giant output')).toContain('planted');
    const line = await logged('run output refused and set aside', (l) => l.file === '00000902.json');
    expect(line.reason).toBe('00000902.json is 2147483648 bytes, more than the 1048576 allowed');
    await hostSurvived();
  });

  it("replaces global memory's CLAUDE.md with a dangling link before the host writes it at start", async () => {
    expect(await attack('link global memory', 'local:owner')).toContain('planted');
    await h.restart(); // start() writes global memory from its template unless something has its name
    expect(readdirSync(outside)).not.toContain('created-by-host');
    expect(lstatSync(join(data, 'global/CLAUDE.md')).isSymbolicLink()).toBe(true); // left alone, not followed
    await hostSurvived();
  });
});

// The security features doing their job for real: real sandboxes, the real SDK, the fake API behind the
// model proxy, a local web server behind the egress proxy.
import { costOf, formatUsd } from '../src/groups/prices.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { toolUse } from './support/fake-anthropic.js';
import { sandboxReadableTempDir, startHarness, type Harness } from './support/harness.js';
import { addGroup, logLines, repliesIn, sayIn, stepScript } from './support/scenario.js';
import { until } from './support/wait.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'carapace.js');
const bash = (command: string) => [toolUse('Bash', { command, description: 'test step' })];

let h: Harness | undefined;
let web: Server | undefined;
let home: string | undefined;
afterEach(async () => {
  await h?.close();
  web?.close();
  if (home) rmSync(home, { recursive: true, force: true });
  h = web = home = undefined;
});

describe('security features end to end', () => {
  it('meters tokens per run and per group from the streamed answers, and `carapace status` shows them', async () => {
    h = await startHarness();
    await h.say('hello there');
    const [reply] = await h.waitForReplies(1);
    const [run] = h.app.store.recentRuns(1);
    const usage = h.app.store.runUsage(run.id);
    const calls = h.fake.requests.filter((r) => r.path === '/v1/messages');
    expect(usage.calls).toBe(calls.length);
    // The fake reports ceil(chars / 4) for the request body and the reply text.
    expect(usage.outputTokens).toBe(Math.ceil(reply.text.length / 4));
    const bodyChars = calls.reduce((n, r) => n + JSON.stringify(r.body).length, 0);
    expect(usage.inputTokens).toBeGreaterThan(bodyChars / 4 - 10);
    expect(usage.inputTokens).toBeLessThan(bodyChars / 4 * 1.05);
    expect(h.app.store.groupUsageSince(1, 0)).toEqual(usage);

    const out = execFileSync('node', [BIN, 'status'], { env: { ...process.env, CARAPACE_DATA_DIR: h.dataDir, CARAPACE_TZ: 'UTC' }, encoding: 'utf8' });
    const n = (x: number) => x.toLocaleString('en-US');
    const usd = costOf(usage, calls[0].body.model);
    expect(usd).toBeGreaterThan(0);
    expect(out).toContain(`spend today: ${formatUsd(usd)} (${n(usage.inputTokens + usage.outputTokens)} tokens, no daily budget); this month: ${formatUsd(usd)}`);
    expect(out).toContain(`${run.id} group=1 running`);
    expect(out).toContain(`1 model calls, ${n(usage.inputTokens)} in / ${n(usage.outputTokens)} out tokens`);
  });

  it('a spent daily budget stops the next model call mid-run and every later run, with a clear note to the chat', async () => {
    h = await startHarness({ script: stepScript({ 'list files': bash('ls') }) });
    // Once the first call is admitted (its reservation: max_tokens + body / 4), the budget becomes that plus a
    // little; the call costs its input and a short answer, and the next one's reservation no longer fits.
    const stop = h.fake.onRequest((r) => {
      if (r.kind !== 'main') return;
      stop();
      h!.app.store.setContainerConfig(1, { dailyTokenBudget: r.body.max_tokens + Math.ceil(Buffer.byteLength(JSON.stringify(r.body)) / 4) + 1000 });
    });
    await h.say('list files');
    const [note] = await h.waitForReplies(1);
    expect(note.text).toMatch(
      /^⚠️ This chat has nearly used its daily model budget \([\d,]+ of [\d,]+ tokens, and the next model call could take up to [\d,]+\), so I can't answer until \d{4}-\d\d-\d\d 00:00 \+00:00\./,
    );
    const calls = h.fake.requests.filter((r) => r.kind === 'main').length;
    expect(calls).toBe(1); // the tool result never went back to the model
    await h.say('list files again');
    const replies = await h.waitForReplies(2);
    expect(replies[1].text).toMatch(/daily model budget/);
    expect(h.fake.requests.filter((r) => r.kind === 'main').length).toBe(calls);
    const log = logLines(h);
    expect(log.some((l) => /model proxy: call refused: This chat has nearly used its daily model budget/.test(l.msg))).toBe(true);
    expect(log.some((l) => l.msg === 'not starting the agent' && /daily model budget/.test(String(l.refusal)))).toBe(true);
    expect(h.app.store.recentRuns(5).map((r) => r.status)).toEqual(['failed']); // no retry burned more budget
  });

  it('with an OAuth token, the CLI authenticates through the proxy and the sandbox never holds the token', async () => {
    const oauth = 'sk-ant-oat01-real-oauth-token-0123456789';
    h = await startHarness({
      env: { ANTHROPIC_API_KEY: '', CLAUDE_CODE_OAUTH_TOKEN: oauth },
      script: stepScript({ 'show env': bash('env; cat /ipc/start.json; tr "\\0" "\\n" < /proc/self/environ') }),
    });
    await h.say('show env');
    const [reply] = await h.waitForReplies(1);
    expect(reply.text).toMatch(/^RESULT show env:\n/);
    expect(reply.text).toContain('"authMode":"oauth"'); // the run token stands in for it
    expect(reply.text).not.toContain(oauth);
    expect(reply.text).not.toContain('ANTHROPIC_API_KEY');
    const main = h.fake.requests.filter((r) => r.kind === 'main');
    expect(main.length).toBeGreaterThan(0);
    for (const r of main) {
      expect(r.headers.authorization).toBe(`Bearer ${oauth}`);
      expect(r.headers['x-api-key']).toBeUndefined();
    }
  });

  it('Bash reaches an allowed site through the egress proxy (plain and CONNECT) once main allows it', async () => {
    web = createServer((req, res) => res.end(`hello from the web: ${req.method} ${req.url}`));
    await new Promise<void>((r) => web!.listen(0, '127.0.0.1', r));
    const port = (web.address() as AddressInfo).port;
    // --noproxy '': NO_PROXY keeps "localhost" for the sandbox's own services; this name is the host's.
    const curl = (extra = '') => bash(`curl -sS ${extra} --noproxy '' http://localhost:${port}/page 2>&1; echo " exit=$?"`);
    h = await startHarness({
      env: { CARAPACE_EGRESS_DEFAULT_ALLOW: '', CARAPACE_EGRESS_PRIVATE_ALLOW: `127.0.0.1:${port}` },
      script: stepScript({
        fetch: curl(),
        tunnel: curl('--proxytunnel'),
        allow: [toolUse('mcp__carapace__set_allowed_domains', { domains: [`localhost:${port}`] })],
      }),
    });
    await h.say('fetch');
    // Not on the list: the request waits on the owner's approval card; denied there, it is refused, and the agent
    // sees the proxy's explanation (the owner who pressed "deny" is not told again).
    await until(() => h!.cards.length === 1, 30_000, () => 'an approval card');
    await h.pressCard(h.cards[0].id, 'deny');
    const [denied] = await h.waitForReplies(1);
    expect(denied.text).toContain(`Carapace egress policy: localhost:${port} is blocked (localhost:${port} is not on this chat's allowed list; the owner denied it)`);
    await h.say('allow');
    const allowed = (await h.waitForReplies(2))[1];
    expect(allowed.text).toContain(`"allow": [\n    "localhost:${port}"\n  ]`);
    await h.say('fetch');
    await h.waitForReplies(3); // one at a time: sent together, both could land in one turn
    await h.say('tunnel');
    const replies = await h.waitForReplies(4);
    expect(replies[2].text).toBe(`RESULT fetch:\nhello from the web: GET /page exit=0`);
    expect(replies[3].text).toBe(`RESULT tunnel:\nhello from the web: GET /page exit=0`);
    const log = logLines(h);
    expect(log.filter((l) => l.msg === 'egress allowed' && l.host === 'localhost' && l.group === 'main').map((l) => l.method)).toEqual(['GET', 'CONNECT']);
    expect(log.some((l) => l.msg === 'egress denied' && l.host === 'localhost' && l.group === 'main')).toBe(true);
  });

  it('an allowlisted directory is mounted read-only for a non-main group; refused ones are logged and absent', async () => {
    home = sandboxReadableTempDir('carapace-owner-');
    mkdirSync(join(home, 'projects/recipes'), { recursive: true });
    writeFileSync(join(home, 'projects/recipes/soup.txt'), 'leek and potato');
    mkdirSync(join(home, '.ssh'));
    mkdirSync(join(home, '.config/carapace'), { recursive: true });
    writeFileSync(join(home, '.config/carapace/mount-allowlist.json'), JSON.stringify({ allowedRoots: [{ path: '~/projects', allowReadWrite: true }] }));
    h = await startHarness({
      env: { HOME: home },
      script: stepScript({
        look: bash('ls /workspace/extra; cat /workspace/extra/recipes/soup.txt; echo; touch /workspace/extra/recipes/new 2>&1; true'),
      }),
    });
    addGroup(h, 'family', {
      containerConfig: { additionalMounts: [{ hostPath: '~/projects/recipes', readonly: false }, { hostPath: '~/.ssh' }, { hostPath: '/etc' }] },
    });
    sayIn(h, 'local:family', 'look');
    const [reply] = await repliesIn(h, 'local:family', 1);
    expect(reply).toBe("RESULT look:\nrecipes\nleek and potato\ntouch: cannot touch '/workspace/extra/recipes/new': Read-only file system");
    const log = logLines(h).filter((l) => l.group === 'family');
    expect(log.filter((l) => l.msg === 'extra mount rejected').map((l) => l.reason)).toEqual([
      `${home}/.ssh matches the blocked pattern ".ssh"`,
      '/etc is not under an allowed root of the mount allowlist',
    ]);
    expect(log.find((l) => l.msg === 'extra mount forced read-only')?.reason).toBe(`root ${home}/projects is read-only for groups other than main`);
  });

  it('main writes global memory; other groups read it', async () => {
    h = await startHarness({
      script: stepScript({
        remember: bash('echo "The family dog is called Biscuit." >> /workspace/global/CLAUDE.md && echo saved'),
        recall: bash('cat /workspace/global/CLAUDE.md'),
      }),
    });
    await h.say('remember');
    expect((await h.waitForReplies(1))[0].text).toBe('RESULT remember:\nsaved');
    expect(readFileSync(join(h.dataDir, 'global/CLAUDE.md'), 'utf8')).toMatch(/^# Shared memory\n[\s\S]*\nThe family dog is called Biscuit\.\n$/);
    addGroup(h, 'family');
    sayIn(h, 'local:family', 'recall');
    const [recalled] = await repliesIn(h, 'local:family', 1);
    expect(recalled).toMatch(/^RESULT recall:\n# Shared memory\n[\s\S]*The family dog is called Biscuit\.$/);
  });
});

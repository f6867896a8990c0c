// The foundation's acceptance tests: real store, real queue, real bubblewrap sandboxes running the real Claude
// Agent SDK, which talks (through the host's model proxy) to the scripted fake Anthropic API.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultScript, text, toolUse, type Script } from './support/fake-anthropic.js';
import { REAL_KEY, startHarness, type Harness } from './support/harness.js';
import { until } from './support/wait.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Every file under `dir`, relative to it. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path, base) : [relative(base, path)];
  });
}

const runs = (x: Harness) => x.app.store.db.prepare('SELECT * FROM runs ORDER BY started_at').all() as any[];

describe('end to end through a bubblewrap sandbox', () => {
  it('a typed message reaches the sandboxed agent and its reply comes back to the same chat', async () => {
    h = await startHarness();
    await h.say('hello from the owner');
    const [reply] = await h.waitForReplies(1);
    expect(reply.text).toMatch(
      /^ECHO: <messages>\n<message sender="Owner" time="\d{4}-\d\d-\d\d \d\d:\d\d \+00:00">hello from the owner<\/message>\n<\/messages>$/,
    );
    const [req] = h.fake.requests.filter((r) => r.kind === 'main');
    // The real key reached the API through the host proxy; the sandbox itself only ever had a run token.
    expect(req.headers['x-api-key']).toBe(REAL_KEY);
    const stored = h.app.store.recentMessages('local:owner', 10);
    expect(stored.map((m) => [m.fromAssistant, m.text])).toEqual([
      [false, 'hello from the owner'],
      [true, reply.text],
    ]);
    expect(runs(h)).toHaveLength(1);
  });

  it("Bash in the sandbox writes into the group's folder on the host, and nowhere else", async () => {
    h = await startHarness();
    h.fake.setScript((req) => {
      if (req.toolResults.length > 0) return { content: [text(`TOOL_DONE: ${req.toolResults[0].content}`)] };
      const command = 'echo made-in-sandbox > proof.txt && id -u && pwd';
      return { content: [toolUse('Bash', { command, description: 'write a file' })] };
    });
    await h.say('write the proof file');
    const [reply] = await h.waitForReplies(1);
    expect(reply.text).toMatch(/^TOOL_DONE: 1000\n\/workspace\/group/);
    const groupDir = join(h.dataDir, 'groups', 'main');
    expect(readFileSync(join(groupDir, 'proof.txt'), 'utf8')).toBe('made-in-sandbox\n');
    expect(statSync(join(groupDir, 'proof.txt')).uid).toBe(process.getuid?.() === 0 ? 1000 : process.getuid?.());
    expect(walk(h.dataDir).filter((f) => f.endsWith('proof.txt'))).toEqual(['groups/main/proof.txt']);
  });

  it('a second message while the agent still works joins the live run; after a restart the session resumes', async () => {
    let first = true;
    h = await startHarness({
      script: (req) => {
        if (!req.isSideRequest && first) {
          first = false;
          return { content: [text('working on the first one')], delayMs: 2500 };
        }
        return defaultScript(req);
      },
    });
    await h.say('remember SECRET=blue-heron-42');
    await h.fake.waitForRequests(1);
    await h.say('and a second thing');
    const replies = await h.waitForReplies(2);
    expect(replies[0].text).toBe('working on the first one');
    expect(replies[1].text).toContain('and a second thing');
    expect(runs(h)).toHaveLength(1); // one sandbox served both
    const sessions = new Set(h.fake.requests.filter((r) => r.kind === 'main').map((r) => r.headers['x-claude-code-session-id']));
    expect(sessions.size).toBe(1);
    const sessionId = h.app.store.sessionOf(1);

    await h.restart();
    await h.say('RECALL');
    const after = await h.waitForReplies(3);
    expect(after[2].text).toBe('RECALLED: SECRET=blue-heron-42');
    expect(h.app.store.sessionOf(1)).toBe(sessionId);
    expect(runs(h)).toHaveLength(2);
  });

  it('two groups run at the same time in separate sandboxes; B cannot see A’s folder', async () => {
    const secretDir = () => join(h!.dataDir, 'groups', 'main');
    h = await startHarness({
      script: (req) => {
        if (req.isSideRequest) return defaultScript(req);
        if (req.toolResults.length > 0) return { content: [text(`B saw: ${req.toolResults[0].content}`)] };
        if (req.lastUserText.includes('probe')) {
          const cmd = `ls /workspace; cat ${secretDir()}/secret.txt; ls ../main; ls ${h!.dataDir}; echo done`;
          return { content: [toolUse('Bash', { command: `${cmd} 2>&1`, description: 'probe' })], delayMs: 800 };
        }
        return { content: [text('A answered')], delayMs: 800 };
      },
    });
    writeFileSync(join(secretDir(), 'secret.txt'), 'top-secret-of-A');
    h.app.orchestrator.registerGroup({
      channel: 'local',
      chatId: 'local:family',
      name: 'Family',
      folder: 'family',
      trigger: '@Andy',
      requiresTrigger: true,
      isMain: false,
    });
    const inbound = (text: string) =>
      h!.app.orchestrator.handleInbound({ chatId: 'local:family', platformId: `p-${Math.random()}`, senderId: 'aunt', senderName: 'Aunt', text, timestamp: Date.now() });
    inbound('no trigger here, just context'); // stored, no agent
    await h.say('hello A');
    inbound('@Andy probe the filesystem');
    await h.waitForReplies(1);
    const familyReply = await until(() => h!.app.store.recentMessages('local:family', 10).find((m) => m.fromAssistant));
    expect(familyReply.text).toMatch(/^B saw: /);
    expect(familyReply.text).not.toContain('top-secret-of-A');
    expect(familyReply.text).toContain('group'); // its own mount is all of /workspace
    expect(familyReply.text).toContain('done');
    const [a, b] = runs(h);
    expect(a.sandbox).not.toBe(b.sandbox);
    expect(Math.max(a.started_at, b.started_at)).toBeLessThan(Math.min(a.ended_at ?? Infinity, b.ended_at ?? Infinity, a.first_output_at, b.first_output_at));
    // The untriggered message was context: it is in B's prompt, and it started no run of its own.
    const bPrompt = h.fake.requests.find((r) => r.kind === 'main' && JSON.stringify(r.body).includes('probe the filesystem'))!;
    expect(JSON.stringify(bPrompt.body)).toContain('no trigger here, just context');
  });

  it('the main agent lists groups through a host request; the host refuses it to other groups', async () => {
    h = await startHarness({
      script: (req) => {
        if (req.toolResults.length > 0) return { content: [text(`TOOL_DONE: ${req.toolResults[0].content}`)] };
        return { content: [toolUse('mcp__carapace__list_groups', {})] };
      },
    });
    await h.say('which chats do you serve?');
    const [reply] = await h.waitForReplies(1);
    expect(reply.text).toMatch(/^TOOL_DONE: \[/);
    expect(JSON.parse(reply.text.slice('TOOL_DONE: '.length))).toEqual([
      { name: 'Owner', chatId: 'local:owner', folder: 'main', trigger: null, isMain: true, mode: 'agent' },
    ]);
  });

  it('an API error is retried, and a persistent one ends in exactly one clear error reply', async () => {
    const seen = new Map<string, number>();
    h = await startHarness({
      env: { CARAPACE_RETRY_ATTEMPTS: '2' },
      script: (req) => {
        if (req.isSideRequest) return defaultScript(req);
        const n = (seen.get(req.lastUserText) ?? 0) + 1;
        seen.set(req.lastUserText, n);
        if (req.lastUserText.includes('always-fails')) return { error: { status: 500, type: 'api_error', message: 'boom' } };
        if (req.lastUserText.includes('flaky') && n === 1) return { error: { status: 500, type: 'api_error', message: 'transient' } };
        return defaultScript(req);
      },
    });
    await h.say('flaky one');
    const [ok] = await h.waitForReplies(1);
    expect(ok.text).toContain('ECHO:');
    expect(runs(h).map((r) => r.status)).toEqual(['failed', 'running']); // the retry answered and stays warm

    await h.say('always-fails'); // piped into the warm run, which then fails; one more attempt, then give up
    const replies = await h.waitForReplies(2);
    expect(replies[1].text).toMatch(/couldn't answer that: the agent failed 2 times \(.*boom/);
    await new Promise((r) => setTimeout(r, 1500)); // nothing else may follow
    expect(h.replies).toHaveLength(2);
    expect(runs(h).map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);
  });

  it('a sandbox killed mid-run is retried and the message answered once', async () => {
    let attempt = 0;
    h = await startHarness({
      script: (req) => {
        if (req.isSideRequest) return defaultScript(req);
        attempt++;
        if (attempt === 1) return { hang: true };
        return { content: [text('answered after the crash')] };
      },
    });
    await h.say('please do the thing');
    await h.fake.waitForRequests(1);
    const [live] = await h.app.runtime.list({ 'carapace.group': 'main' });
    expect(live).toBeDefined();
    process.kill(live.pid!, 'SIGKILL');
    const [reply] = await h.waitForReplies(1);
    expect(reply.text).toBe('answered after the crash');
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.replies).toHaveLength(1);
    expect(runs(h).map((r) => [r.status, r.error])).toEqual([
      ['failed', 'sandbox exited with SIGKILL'],
      ['running', null],
    ]);
  });
});


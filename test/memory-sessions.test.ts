// Agent teams, memory and sessions, end to end: real bubblewrap sandboxes, the real SDK, the scripted fake API.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultScript, text, toolUse, type Script } from './support/fake-anthropic.js';
import { startHarness, type Harness } from './support/harness.js';
import { until } from './support/wait.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const runs = (x: Harness) => x.app.store.db.prepare('SELECT * FROM runs ORDER BY started_at').all() as any[];
const mainDir = (x: Harness) => join(x.dataDir, 'groups', 'main');
/** Answers tool results plainly, otherwise defers to `script`. */
const withToolDone = (script: Script): Script => (req) =>
  req.toolResults.length > 0 ? { content: [text(`TOOL_DONE: ${req.toolResults[0].content}`)] } : script(req);

function defineRole(groupDir: string, role: string, marker: string): void {
  mkdirSync(join(groupDir, '.claude', 'agents'), { recursive: true });
  writeFileSync(
    join(groupDir, '.claude', 'agents', `${role}.md`),
    `---\nname: ${role}\ndescription: The team's ${role}.\n---\n${marker}: you are the ${role} of this team.\n`,
  );
}

describe('agent teams', () => {
  it('the lead delegates to two group-defined roles; each result reaches the chat under its role, in one run', async () => {
    h = await startHarness({
      script: (req) => {
        if (req.isSideRequest) return defaultScript(req);
        if (req.systemText.includes('ROLE-RESEARCHER')) return { content: [text('Research: markets are up 3%.')] };
        if (req.systemText.includes('ROLE-WRITER')) return { content: [text('Draft: A calm week with a 3% rise.')] };
        // The lead: delegate to the researcher, then the writer, then wrap up.
        const done = req.toolResults.length;
        const delegated = req.body.messages.filter((m: any) => m.role === 'assistant').length;
        if (delegated === 0) return { content: [toolUse('Agent', { subagent_type: 'researcher', description: 'research', prompt: 'Find the numbers' })] };
        if (delegated === 1 && done) return { content: [toolUse('Agent', { subagent_type: 'writer', description: 'write', prompt: 'Write it up' })] };
        return { content: [text('The Monday briefing is ready.')] };
      },
    });
    defineRole(mainDir(h), 'researcher', 'ROLE-RESEARCHER');
    defineRole(mainDir(h), 'writer', 'ROLE-WRITER');
    await h.say('have a researcher and a writer prepare the Monday briefing');
    const replies = await h.waitForReplies(3);
    // The roles run as background agents at the same time, so their results may arrive in either order.
    expect(replies.map((r) => [r.sender, r.text]).sort()).toEqual([
      ['Andy', 'The Monday briefing is ready.'],
      ['researcher', 'Research: markets are up 3%.'],
      ['writer', 'Draft: A calm week with a 3% rise.'],
    ]);
    expect(runs(h)).toHaveLength(1); // the whole team was one run
    const system = h.fake.requests.filter((r) => r.kind === 'main').map((r) => JSON.stringify(r.body.system));
    expect(system.filter((s) => s.includes('ROLE-RESEARCHER'))).toHaveLength(1);
    expect(system.filter((s) => s.includes('ROLE-WRITER'))).toHaveLength(1);
  });

  it('send_message can speak as a role', async () => {
    h = await startHarness({
      script: withToolDone(() => ({ content: [toolUse('mcp__carapace__send_message', { text: 'Fact-checked.', sender: 'Checker' })] })),
    });
    await h.say('check it');
    const replies = await h.waitForReplies(2);
    expect(replies[0]).toMatchObject({ sender: 'Checker', text: 'Fact-checked.' });
  });
});

describe('memory', () => {
  it('every group reads global memory; only main can write it', async () => {
    h = await startHarness({
      script: withToolDone((req) =>
        req.lastUserText.includes('note it')
          ? { content: [toolUse('Bash', { command: 'echo "- likes tea" >> /workspace/global/CLAUDE.md 2>&1; echo rc=$?', description: 'remember' })] }
          : defaultScript(req),
      ),
    });
    const globalFile = join(h.dataDir, 'global', 'CLAUDE.md');
    expect(readFileSync(globalFile, 'utf8')).toMatch(/Shared memory/);
    h.app.orchestrator.registerGroup({ channel: 'local', chatId: 'local:family', name: 'Family', folder: 'family', trigger: '@Andy', requiresTrigger: false, isMain: false });
    const family = () => h!.app.store.recentMessages('local:family', 10).filter((m) => m.fromAssistant).map((m) => m.text);

    h.app.orchestrator.handleInbound({ chatId: 'local:family', platformId: 'f1', senderId: 'kid', senderName: 'Kid', text: 'note it: we like tea', timestamp: Date.now() });
    await until(() => family().length === 1);
    expect(family()[0]).toMatch(/Read-only file system[\s\S]*rc=1/);
    expect(readFileSync(globalFile, 'utf8')).not.toContain('likes tea');
    // The group's own request carried the global memory file.
    const familyRequest = h.fake.requests.find((r) => JSON.stringify(r.body).includes('we like tea'))!;
    expect(JSON.stringify(familyRequest.body)).toContain('Every chat');

    await h.say('note it for everyone');
    const [reply] = await h.waitForReplies(1);
    expect(reply.text).toContain('rc=0');
    expect(readFileSync(globalFile, 'utf8')).toContain('- likes tea');
  });

  it("a group's CLAUDE.md starts from the template with the assistant's name and chat rules", async () => {
    h = await startHarness();
    const memory = readFileSync(join(mainDir(h), 'CLAUDE.md'), 'utf8');
    expect(memory).toMatch(/You are Andy/);
    expect(memory).toMatch(/<internal>/);
    await h.say('hi');
    await h.waitForReplies(1);
    const [req] = h.fake.requests.filter((r) => r.kind === 'main');
    expect(JSON.stringify(req.body)).toContain('You are Andy, a personal assistant in the chat');
  });
});

describe('sessions', () => {
  it('/clear archives the conversation and starts a new session', async () => {
    h = await startHarness();
    await h.say('remember SECRET=kingfisher-7');
    await h.waitForReplies(1);
    const before = h.app.store.sessionOf(1);
    expect(before).toBeDefined();

    await h.say('/clear');
    const [, cleared] = await h.waitForReplies(2);
    expect(cleared.text).toMatch(/^Started a fresh conversation\. The previous one is saved in conversations\/.+\.md\.$/);
    const archive = readdirSync(join(mainDir(h), 'conversations'));
    expect(archive).toHaveLength(1);
    expect(readFileSync(join(mainDir(h), 'conversations', archive[0]), 'utf8')).toContain('SECRET=kingfisher-7');
    expect(h.app.store.sessionOf(1)).toBeUndefined();

    await h.say('RECALL');
    const [, , recalled] = await h.waitForReplies(3);
    expect(recalled.text).toBe('RECALLED: nothing');
    const after = h.app.store.sessionOf(1);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
  });

  it('/compact summarises through the SDK and archives the transcript first', async () => {
    h = await startHarness();
    await h.say('remember SECRET=heron-9');
    await h.waitForReplies(1);
    const requestsBefore = h.fake.requests.length;
    await h.say('/compact');
    const [, confirmed] = await h.waitForReplies(2);
    expect(confirmed.text).toBe('Conversation compacted. The full transcript is saved in conversations/.');
    await until(() => existsSync(join(mainDir(h!), 'conversations')) && readdirSync(join(mainDir(h!), 'conversations')).length === 1);
    const [file] = readdirSync(join(mainDir(h), 'conversations'));
    expect(readFileSync(join(mainDir(h), 'conversations', file), 'utf8')).toContain('SECRET=heron-9');
    expect(h.fake.requests.length).toBeGreaterThan(requestsBefore); // the SDK asked the model for the summary
    await h.say('still there?');
    await until(() => h!.replies.some((r) => r.text.includes('still there?')));
    expect(runs(h)).toHaveLength(1);
  });

  it('session commands are refused in a group unless allowed', async () => {
    h = await startHarness();
    h.app.orchestrator.registerGroup({ channel: 'local', chatId: 'local:club', name: 'Club', folder: 'club', trigger: '@Andy', requiresTrigger: true, isMain: false });
    h.app.orchestrator.handleInbound({ chatId: 'local:club', platformId: 'c1', senderId: 'x', senderName: 'X', text: '@Andy /clear', timestamp: Date.now() });
    await until(() => h!.app.store.recentMessages('local:club', 5).some((m) => m.fromAssistant));
    expect(h.app.store.recentMessages('local:club', 5).find((m) => m.fromAssistant)!.text).toBe('/clear is only available in the main chat.');
    expect(runs(h)).toHaveLength(0);
  });
});

describe('stale sessions', () => {
  it('a session whose transcript is gone falls back to a fresh one instead of failing', async () => {
    h = await startHarness();
    await h.say('remember SECRET=owl-3');
    await h.waitForReplies(1);
    const old = h.app.store.sessionOf(1)!;
    await h.restart(() => rmSync(join(h!.dataDir, 'state', 'main', 'claude', 'projects'), { recursive: true, force: true }));
    await h.say('RECALL');
    const [, reply] = await h.waitForReplies(2);
    expect(reply.text).toBe('RECALLED: nothing');
    expect(h.app.store.sessionOf(1)).not.toBe(old);
  });

  it('a session the CLI cannot resume is replaced, and the chat is told', async () => {
    h = await startHarness();
    await h.say('hello');
    await h.waitForReplies(1);
    // A transcript that exists but is not a conversation the CLI can load.
    const transcript = join(h.dataDir, 'state', 'main', 'claude', 'projects', '-workspace-group', `${h.app.store.sessionOf(1)}.jsonl`);
    await h.restart(() => writeFileSync(transcript, 'not json at all\n'));
    await h.say('are you there?');
    const replies = await h.waitForReplies(3);
    expect(replies.slice(1).map((r) => r.text)).toEqual([
      "(I couldn't find our earlier conversation, so I'm starting a fresh one.)",
      expect.stringContaining('are you there?'),
    ]);
  });
});

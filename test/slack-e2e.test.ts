// Slack end to end: events from the fake Slack's Socket Mode server go through the real Bolt App and the real
// pipeline (store, queue, bubblewrap sandbox running the real Agent SDK against the fake model); the replies come
// back through the real WebClient as chat.postMessage / files.uploadV2 at the fake.
import type { Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { slackOptions } from '../src/channels/slack/plugin.js';
import { SlackChannel } from '../src/channels/slack/slack-channel.js';
import { newPairingCode, PAIRING_CODE_TTL_MS } from '../src/core/bot-owners.js';
import { defaultScript, text, toolUse, type Script } from './support/fake-anthropic.js';
import { APP_TOKEN, BOT_TOKEN, BOT_USER, FakeSlack, type Posted } from './support/fake-slack.js';
import { startHarness, type Harness } from './support/harness.js';
import { until } from './support/wait.js';

let h: Harness | undefined;
let slack: FakeSlack | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  await slack?.close();
  slack = undefined;
});

const credentials = { account: '@andy in Fake Team', appToken: APP_TOKEN, botToken: BOT_TOKEN, botUserId: BOT_USER, botId: 'B1', team: 'Fake Team' };

/** The channel as the plug-in builds it, with a quicker reconnect. */
function slackChannel(config: Config, log: Logger) {
  return new SlackChannel({ ...slackOptions(config, log, credentials), clientPingTimeoutMs: 1_000, retry: { baseMs: 100, maxMs: 400, authAttempts: 5 } });
}

async function startWithSlack(script: Script = defaultScript) {
  slack = new FakeSlack();
  const fake = slack;
  await fake.start();
  h = await startHarness({ script, env: { SLACK_API_URL: fake.apiUrl }, channels: (config, log) => [slackChannel(config, log)] });
  await until(() => fake.connections === 1, 10_000, () => 'Slack connected');
  h.app.orchestrator.registerGroup({ channel: 'slack', chatId: 'slack:CFAMILY', name: '#family', folder: 'family', trigger: '@Andy', requiresTrigger: true, isMain: false });
  return fake;
}

function postedTo(fake: FakeSlack, channel: string, n: number, timeoutMs = 30_000): Promise<Posted[]> {
  const sent = () => fake.posted.filter((p) => p.channel === channel);
  return until(() => sent().length >= n && sent(), timeoutMs, () => `${n} Slack posts to ${channel}, got ${JSON.stringify(fake.posted)} (log: ${h?.logFile})`);
}

describe('Slack end to end', () => {
  it('a mention in a registered channel reaches the sandboxed agent; the reply comes back, ⏳ while it worked', async () => {
    const fake = await startWithSlack();
    fake.message({ channel: 'CFAMILY', user: 'UBOB', text: 'no mention, just chatting' });
    const ts = fake.message({ channel: 'CFAMILY', user: 'UBOB', text: '<@UBOT> what do you think &amp; why?' });
    const [reply] = await postedTo(fake, 'CFAMILY', 1);
    expect(reply.text).toMatch(/^ECHO: &lt;messages&gt;\n&lt;message sender="Bob" time="[^"]+"&gt;no mention, just chatting&lt;\/message&gt;\n&lt;message sender="Bob" time="[^"]+"&gt;@Andy what do you think &amp;amp; why\?&lt;\/message&gt;\n&lt;\/messages&gt;$/);
    await until(() => fake.reactions.length === 2);
    expect(fake.reactions.map((r) => [r.how, r.timestamp])).toEqual([['add', ts], ['remove', ts]]);
    expect(h!.app.store.recentMessages('slack:CFAMILY', 10).map((m) => m.fromAssistant)).toEqual([false, false, true]);
  });

  it('a mention inside a thread is answered in that thread, a conversation of its own', async () => {
    const fake = await startWithSlack();
    const top = fake.message({ channel: 'CFAMILY', user: 'UBOB', text: 'shall we plan the trip?' });
    fake.message({ channel: 'CFAMILY', user: 'UBOB', text: '<@UBOT> ideas?', thread_ts: top });
    const [reply] = await postedTo(fake, 'CFAMILY', 1);
    expect(reply.thread_ts).toBe(top);
    expect(reply.text).toMatch(/@Andy ideas\?/);
    expect(reply.text).not.toMatch(/plan the trip/); // the thread has its own context
    expect(h!.app.store.groupByChat(`slack:CFAMILY:${top}`)).toMatchObject({ channel: 'slack', isMain: false });
  });

  it('pairing by DM: the code makes its sender the owner and their DM main; their DMs are answered there', async () => {
    const fake = await startWithSlack();
    fake.message({ channel: 'DBOB', user: 'UBOB', text: 'hello bot' });
    await postedTo(fake, 'DBOB', 1);
    expect(h!.app.store.chatExists('slack:DBOB')).toBe(false);
    const code = newPairingCode();
    h!.app.store.issuePairingCode('slack', code, Date.now() + PAIRING_CODE_TTL_MS);
    fake.message({ channel: 'DOWNER', user: 'UOWNER', text: code });
    const [paired] = await postedTo(fake, 'DOWNER', 1);
    expect(paired.text).toMatch(/Paired/);
    expect(h!.app.store.groupByChat('slack:DOWNER')).toMatchObject({ isMain: true });
    fake.message({ channel: 'DOWNER', user: 'UOWNER', text: 'what is on today?' });
    const [, reply] = await postedTo(fake, 'DOWNER', 2);
    expect(reply.text).toMatch(/^ECHO: .*sender="Olga".*what is on today\?/s);
  });

  it('a file in: the agent reads it in media/ and sends a file back through files.uploadV2', async () => {
    const fake = await startWithSlack((req) => {
      if (req.isSideRequest) return defaultScript(req);
      const media = /\/workspace\/group\/media\/[\w.-]+/.exec(req.allUserText.join('\n'))?.[0];
      const result = req.toolResults[0]?.content ?? '';
      if (!req.toolResults.length) return { content: [toolUse('Bash', { command: `tr a-z A-Z < ${media} > shout.txt && cat shout.txt`, description: 'read it' })] };
      if (!result.startsWith('Sending')) return { content: [toolUse('mcp__carapace__send_file', { path: 'shout.txt', caption: '**loud** copy' })] };
      return { content: [text(`DONE ${media}`)] };
    });
    const file = fake.addFile('receipt.txt', Buffer.from('total 42 eur'));
    fake.message({ channel: 'CFAMILY', user: 'UBOB', text: '<@UBOT> read this', files: [file] });
    const [done] = await postedTo(fake, 'CFAMILY', 1);
    expect(done.text).toMatch(/^DONE \/workspace\/group\/media\/\d{4}-\d\d-\d\d-F\d+-receipt\.txt$/);
    expect(fake.uploads).toHaveLength(1);
    expect(fake.uploads[0]).toMatchObject({ channel_id: 'CFAMILY', filename: 'shout.txt', initial_comment: '*loud* copy' });
    expect(fake.uploads[0].data.toString()).toBe('TOTAL 42 EUR');
  });

  it('a 429 on chat.postMessage: the reply waits Retry-After and is posted once', async () => {
    const fake = await startWithSlack();
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    fake.message({ channel: 'CFAMILY', user: 'UBOB', text: '<@UBOT> hello' });
    await postedTo(fake, 'CFAMILY', 1);
    expect(fake.calls.filter((c) => c === 'chat.postMessage')).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.posted).toHaveLength(1);
  });

  it('a disconnect envelope and a dropped socket: a reply made while Slack is away is drained once on reconnect', async () => {
    let fake: FakeSlack;
    let moved = false;
    fake = await startWithSlack(async (req) => {
      if (req.isSideRequest || moved) return defaultScript(req);
      moved = true;
      // Slack moves the connection while the agent thinks, and is slow to take it back.
      fake.holdConnections = true;
      fake.disconnect();
      await until(() => fake.connections === 0);
      return defaultScript(req);
    });
    fake.message({ channel: 'CFAMILY', user: 'UBOB', text: '<@UBOT> one' });
    await until(() => (h!.app.store.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE chat_id = 'slack:CFAMILY'").get() as { n: number }).n > 0, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(fake.posted).toHaveLength(0);
    fake.holdConnections = false;
    await postedTo(fake, 'CFAMILY', 1);
    const hellos = fake.hellos;
    fake.drop();
    fake.message({ channel: 'CFAMILY', user: 'UBOB', text: '<@UBOT> two' });
    await postedTo(fake, 'CFAMILY', 2);
    expect(fake.hellos).toBeGreaterThan(hellos); // "two" came on the new connection
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.posted.map((p) => p.text.includes('one') && !p.text.includes('two'))).toEqual([true, false]);
  });

  it('a restart mid-reply: the reply waiting in the outbox is posted once after the restart', async () => {
    let fake: FakeSlack;
    fake = await startWithSlack(async (req) => {
      if (req.isSideRequest) return defaultScript(req);
      fake.holdConnections = true;
      fake.drop();
      return defaultScript(req);
    });
    fake.message({ channel: 'CFAMILY', user: 'UBOB', text: '<@UBOT> before the restart' });
    await until(() => (h!.app.store.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE chat_id = 'slack:CFAMILY' AND status = 'pending'").get() as { n: number }).n > 0, 30_000);
    expect(fake.posted).toHaveLength(0);
    await h!.restart();
    fake.holdConnections = false;
    await postedTo(fake, 'CFAMILY', 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(fake.posted).toHaveLength(1);
    expect(fake.posted[0].text).toContain('before the restart');
  });
});

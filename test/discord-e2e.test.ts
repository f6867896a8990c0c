// Discord end to end: MESSAGE_CREATE dispatches from the fake gateway go through the real pipeline (store,
// queue, bubblewrap sandbox running the real Agent SDK against the fake model) and the replies come back out as
// REST message creates at the fake, through the real discord.js client.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { DiscordChannel } from '../src/channels/discord/discord-channel.js';
import { newPairingCode, PAIRING_CODE_TTL_MS } from '../src/core/bot-owners.js';
import { defaultScript, text, toolUse, type Script } from './support/fake-anthropic.js';
import { BOT, FakeDiscord, message, threadPayload, TOKEN, type FakeUser } from './support/fake-discord.js';
import { startHarness, type Harness } from './support/harness.js';
import { until } from './support/wait.js';

const GUILD = '700000000000000001';
const GENERAL = '710000000000000001';
const BOB: FakeUser = { id: '800000000000000002', username: 'bob', global_name: 'Bob' };
const OLGA: FakeUser = { id: '800000000000000001', username: 'olga', global_name: 'Olga' };
const DM = '720000000000000001';

let h: Harness | undefined;
let fake: FakeDiscord | undefined;
afterEach(async () => {
  await h?.close();
  await fake?.close();
  h = undefined;
  fake = undefined;
});

const discordChannel = (f: FakeDiscord, config: Config, log: pino.Logger) =>
  new DiscordChannel({ token: TOKEN, account: '@carapace', applicationId: BOT.id, apiUrl: f.apiUrl, maxMediaBytes: config.channels.discord.maxMediaBytes, assistantName: config.assistantName, log });

async function startWithDiscord(script: Script = defaultScript) {
  const f = (fake = await new FakeDiscord().start());
  f.guilds = [{ id: GUILD, name: 'Home', channels: [{ id: GENERAL, name: 'general' }] }];
  h = await startHarness({ script, channels: (config, log) => [discordChannel(f, config, log)] });
  h.app.orchestrator.registerGroup({ channel: 'dc', chatId: `dc:${GENERAL}`, name: 'general', folder: 'general', trigger: '@Andy', requiresTrigger: true, isMain: false });
  await until(() => f.connected && f.identifies.length > 0, 10_000, () => 'Discord connected');
  return f;
}

function mention(f: FakeDiscord, content: string, extra: { attachments?: unknown[] } = {}) {
  f.dispatch('MESSAGE_CREATE', message({ id: f.snowflake(), channel_id: GENERAL, guild_id: GUILD, author: BOB, content: `<@${BOT.id}> ${content}`, mentions: [BOT], ...extra }));
}

const sent = (f: FakeDiscord, n: number, timeoutMs = 30_000) =>
  until(() => f.sent.length >= n && f.sent.slice(), timeoutMs, () => `${n} Discord messages, got ${JSON.stringify(f.texts())} (log: ${h?.logFile})`);

describe('Discord end to end', () => {
  it('a mention in a registered guild channel is answered in the channel, with typing and no pings', async () => {
    const f = await startWithDiscord();
    f.dispatch('MESSAGE_CREATE', message({ id: f.snowflake(), channel_id: GENERAL, guild_id: GUILD, author: BOB, content: 'no mention, just chatting' }));
    mention(f, 'what do you think?');
    const [reply] = await sent(f, 1);
    expect(reply.channelId).toBe(GENERAL);
    expect(reply.content).toMatch(/^ECHO: <messages>\n<message sender="Bob" time="[^"]+">no mention, just chatting<\/message>\n<message sender="Bob" time="[^"]+">@Andy what do you think\?<\/message>\n<\/messages>$/);
    expect(reply.allowedMentions).toEqual({ parse: [] });
    expect(f.typing).toContain(GENERAL);
    // Our own echo (MESSAGE_CREATE of the bot's message) started nothing.
    await new Promise((r) => setTimeout(r, 300));
    expect(h!.app.store.db.prepare('SELECT COUNT(*) AS n FROM runs').get()).toEqual({ n: 1 });
  });

  it('an attachment reaches the agent in its folder; the file it sends goes out as an attachment', async () => {
    const f = await startWithDiscord((req) => {
      if (req.isSideRequest) return defaultScript(req);
      const media = /\/workspace\/group\/media\/[\w.-]+/.exec(req.allUserText.join('\n'))?.[0];
      if (!req.toolResults.length) return { content: [toolUse('Bash', { command: `tr a-z A-Z < ${media} > shout.txt && cat shout.txt`, description: 'read it' })] };
      if (!req.toolResults[0].content.startsWith('Sending')) return { content: [toolUse('mcp__carapace__send_file', { path: 'shout.txt', caption: '**loud** copy' })] };
      return { content: [text(`DONE ${media}`)] };
    });
    mention(f, 'shout this', { attachments: [f.attachment('receipt.txt', Buffer.from('total 42 eur'), 'text/plain')] });
    const out = await sent(f, 2);
    expect(out[0]).toMatchObject({ content: '**loud** copy', files: [{ name: 'shout.txt', data: Buffer.from('TOTAL 42 EUR') }] });
    expect(out[1].content).toMatch(/^DONE \/workspace\/group\/media\/\d{4}-\d\d-\d\d-\d+-\d+-receipt\.txt$/);
  });

  it('a 3,500-character reply with a code block is split under 2,000 with the block closed and reopened', async () => {
    const code = Array.from({ length: 70 }, (_, i) => `print("line ${i} of the program")`).join('\n');
    const long = `${'Here is the explanation. '.repeat(50)}\n\n\`\`\`python\n${code}\n\`\`\`\n\nThat is all.`;
    expect(long.length).toBeGreaterThan(3500);
    const f = await startWithDiscord((req) => (req.isSideRequest ? defaultScript(req) : { content: [text(long)] }));
    mention(f, 'explain');
    await until(() => f.texts().some((t) => t.endsWith('That is all.')), 30_000, () => `the end of the reply, got ${JSON.stringify(f.texts())}`);
    const parts = f.texts();
    expect(parts.length).toBe(3);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(2000);
      expect((p.match(/```/g) ?? []).length % 2).toBe(0);
    }
    expect(parts[0]).toBe('Here is the explanation. '.repeat(50).trim());
    expect(parts[1].startsWith('```python\nprint("line 0')).toBe(true);
    expect(parts[2].startsWith('```\n')).toBe(true);
    expect(parts.join('\n').match(/print\("line \d+ of the program"\)/g)?.length).toBe(70);
  });

  it('a rate-limited send waits for retry_after and is sent once', async () => {
    const f = await startWithDiscord();
    f.rateLimitNext = 2;
    mention(f, 'hurry');
    await sent(f, 1);
    expect(f.creates).toBe(3);
    await new Promise((r) => setTimeout(r, 300));
    expect(f.texts()).toHaveLength(1);
  });

  it('a dropped gateway resumes: the message sent meanwhile is answered once, nothing lost or doubled', async () => {
    const f = await startWithDiscord();
    mention(f, 'first');
    await sent(f, 1);
    f.drop();
    mention(f, 'while the connection was down');
    await until(() => f.resumes.length > 0 && f.connected, 15_000, () => 'a RESUME');
    const out = await sent(f, 2);
    expect(out[1].content).toContain('while the connection was down');
    await new Promise((r) => setTimeout(r, 500));
    expect(f.sent).toHaveLength(2);
    expect(h!.app.store.recentMessages(`dc:${GENERAL}`, 10).filter((m) => !m.fromAssistant)).toHaveLength(2);
  });

  it('a restart mid-reply sends the reply exactly once', async () => {
    const f = await startWithDiscord();
    let release!: () => void;
    f.hold = new Promise((r) => (release = r));
    mention(f, 'survive a restart');
    await until(() => f.creates >= 1, 30_000, () => 'the reply on its way');
    await h!.restart(release); // the held create completes once Carapace has stopped, before it starts again
    // Sent again after the restart (the stopping process could not record it), and Discord's nonce check made
    // that a no-op; the outbox row is done.
    await until(() => f.creates >= 2 && h!.app.store.pendingOutbox().length === 0, 30_000, () => `the re-send, ${f.creates} creates`);
    expect(f.texts()).toHaveLength(1);
    expect(f.texts()[0]).toContain('survive a restart');
  });

  it('the owner pairs by code in a DM; their DM becomes main and is answered there', async () => {
    const f = await startWithDiscord();
    const dm = (content: string) => f.dispatch('MESSAGE_CREATE', message({ id: f.snowflake(), channel_id: DM, author: OLGA, content }));
    dm('hi bot');
    await until(() => f.texts(DM).length >= 1, 10_000, () => `a refusal, got ${JSON.stringify(f.texts())}`);
    expect(f.texts(DM)[0]).toMatch(/private assistant/);
    const code = newPairingCode();
    h!.app.store.issuePairingCode('discord', code, Date.now() + PAIRING_CODE_TTL_MS);
    dm(code);
    await until(() => f.texts(DM).length >= 2, 10_000, () => `the pairing answer, got ${JSON.stringify(f.texts())}`);
    expect(f.texts(DM)[1]).toMatch(/Paired/);
    expect(h!.app.store.groupByChat(`dc:${DM}`)).toMatchObject({ isMain: true });
    expect(h!.app.store.chatExists(`dc:${DM}`) && h!.app.store.recentMessages(`dc:${DM}`, 10)).toEqual([]);
    dm('what is on today?');
    await until(() => f.texts(DM).length >= 3, 30_000, () => `an answer in the DM, got ${JSON.stringify(f.texts())}`);
    expect(f.texts(DM)[2]).toMatch(/^ECHO: .*what is on today\?/s);
  });

  it('a mention in a thread of a registered channel is answered in the thread', async () => {
    const f = await startWithDiscord();
    const thread = f.snowflake();
    f.dispatch('THREAD_CREATE', { ...threadPayload(GUILD, { id: thread, name: 'plans', parent_id: GENERAL }), newly_created: true });
    f.dispatch('MESSAGE_CREATE', message({ id: f.snowflake(), channel_id: thread, channel_type: 11, guild_id: GUILD, author: BOB, content: `<@${BOT.id}> plan the trip`, mentions: [BOT] }));
    const [reply] = await sent(f, 1);
    expect(reply.channelId).toBe(thread);
    expect(reply.content).toMatch(/plan the trip/);
    expect(h!.app.store.groupByChat(`dc:${thread}`)).toMatchObject({ workspace: 'general' }); // the parent's folder
  });

  it('a reply to the bot, without the trigger word, is answered; a channel that lost the bot is told to main once', async () => {
    const f = await startWithDiscord();
    const earlier = message({ id: f.snowflake(), channel_id: GENERAL, author: BOT, content: 'earlier answer' });
    f.dispatch('MESSAGE_CREATE', message({ id: f.snowflake(), channel_id: GENERAL, guild_id: GUILD, author: BOB, content: 'and what about tomorrow?', referenced: earlier }));
    const [reply] = await sent(f, 1);
    expect(reply.content).toMatch(/and what about tomorrow\?/);
    f.forbidden.add(GENERAL);
    mention(f, 'are you still there?');
    const [notice] = await h!.waitForReplies(1);
    expect(notice.text).toMatch(/could not deliver a reply to "general" \(dc:710000000000000001\): Discord refuses .*Missing Access \(code 50001\)/);
    expect(f.sent).toHaveLength(1);
  });
});

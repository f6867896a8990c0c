// Egress approvals at the wire: the real Agent SDK in a bubblewrap sandbox runs curl through the egress proxy to a
// host that is not on its list; the proxy holds the request while the owner gets a card in the main chat, and the
// answer (a button in the local chat or on Telegram, or a short reply) lets it through or refuses it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DiscordChannel } from '../src/channels/discord/discord-channel.js';
import { slackOptions } from '../src/channels/slack/plugin.js';
import { SlackChannel } from '../src/channels/slack/slack-channel.js';
import { TelegramChannel } from '../src/channels/telegram/telegram-channel.js';
import { telegramOptions } from '../src/channels/telegram/plugin.js';
import { askOwner } from '../src/core/approval-asker.js';
import { parseReply } from '../src/core/approval-card.js';
import { MAX_PENDING_PER_CHAT } from '../src/core/egress-approvals.js';
import { newPairingCode, PAIRING_CODE_TTL_MS } from '../src/core/bot-owners.js';
import { runBoard } from '../src/core/run-board.js';
import { groupSettings } from '../src/groups/settings-schema.js';
import { toolUse } from './support/fake-anthropic.js';
import { BOT as DISCORD_BOT, FakeDiscord, message as discordMessage, TOKEN as DISCORD_TOKEN, type FakeUser } from './support/fake-discord.js';
import { APP_TOKEN, BOT_TOKEN, BOT_USER, FakeSlack } from './support/fake-slack.js';
import { BOT, dmWith, FakeTelegram, people, TOKEN } from './support/fake-telegram.js';
import { startHarness, type Harness } from './support/harness.js';
import { addGroup, logLines, runStep, stepScript } from './support/scenario.js';
import { until } from './support/wait.js';

const bash = (command: string) => [toolUse('Bash', { command, description: 'test step' })];

let h: Harness | undefined;
let web: Server | undefined;
let telegram: FakeTelegram | undefined;
let slack: FakeSlack | undefined;
let discord: FakeDiscord | undefined;
afterEach(async () => {
  await h?.close();
  await discord?.close();
  discord = undefined;
  await telegram?.close();
  await slack?.close();
  slack = undefined;
  await new Promise((r) => (web ? web.close(r) : r(undefined)));
  h = web = telegram = undefined;
});

/** A web site on the host that the sandbox may reach only through the proxy (exempt from the private-address block). */
async function startWeb(): Promise<number> {
  web = createServer((req, res) => res.end(`hello from the web: ${req.method} ${req.url}`));
  await new Promise<void>((r) => web!.listen(0, '127.0.0.1', r));
  return (web.address() as AddressInfo).port;
}

/** Steps the scripted model runs as Bash/tool calls; --noproxy '' because NO_PROXY keeps "localhost" local. */
function steps(port: number) {
  const curl = (extra = '') => `curl -sS ${extra} --noproxy '' http://localhost:${port}/page 2>&1; echo " exit=$?"`;
  return stepScript({
    why: [toolUse('mcp__carapace__request_access', { host: 'localhost', reason: 'to read the recipe page' })],
    fetch: bash(curl()),
    tunnel: bash(curl('--proxytunnel')),
    both: bash(`(${curl()}) & (${curl()}) & wait`),
  });
}

const env = (port: number, extra: Record<string, string> = {}) => ({
  CARAPACE_EGRESS_DEFAULT_ALLOW: '',
  CARAPACE_EGRESS_PRIVATE_ALLOW: `127.0.0.1:${port}`,
  ...extra,
});

const cardsAtLeast = (n: number) => until(() => h!.cards.length >= n && h!.cards.slice(), 30_000, () => `${n} cards, got ${h!.cards.length} (log: ${h!.logFile})`);
const statuses = () => h!.app.store.approvals.recent(20).reverse().map((r) => r.status);

describe('egress approvals', () => {
  it('the owner allows once, denies by a short reply (duplicates share one card) and allows for the chat', async () => {
    const port = await startWeb();
    h = await startHarness({ script: steps(port), env: env(port) });
    await h.say('why');
    expect((await h.waitForReplies(1))[0].text).toMatch(/^RESULT why:\nNoted\. When you connect to localhost/);

    await h.say('fetch');
    const [first] = await cardsAtLeast(1);
    expect(first.text).toContain(`The agent of "Owner" (local:owner) wants to reach GET http://localhost:${port}/page`);
    expect(first.text).toContain('Its reason: "to read the recipe page"');
    expect(first.choices.map((c) => c.id)).toEqual(['once', 'chat', 'deny']);
    expect(await h.pressCard(first.id, 'once')).toBe(`Request ${first.id}: localhost:${port} for "main" allowed once.`);
    expect((await h.waitForReplies(2))[1].text).toBe(`RESULT fetch:\nhello from the web: GET /page exit=0`);

    await h.say('both');
    const [, second] = await cardsAtLeast(2);
    // Answer once both requests are held: the second curl may start after the first one's card went out.
    await until(() => logLines(h!).some((l) => l.msg === 'egress approval: a duplicate waits on the pending card' && l.card === Number(second.id)), 10_000, () => 'the duplicate held');
    await h.say(`deny ${second.id}`);
    const replies = await h.waitForReplies(4);
    expect(replies[2].text).toBe(`Request ${second.id}: localhost:${port} for "main" denied.`);
    expect(replies[3].text).toMatch(/^RESULT both:\n/);
    expect(replies[3].text.match(/is not on this chat's allowed list; the owner denied it/g)).toHaveLength(2);
    expect(h.cards).toHaveLength(2); // the second request shared the first's card

    await h.say('tunnel');
    const [, , third] = await cardsAtLeast(3);
    expect(third.text).toContain(`wants to reach localhost port ${port} (HTTPS)`);
    expect(await h.pressCard(third.id, 'chat')).toBe(`Request ${third.id}: localhost:${port} for "main" allowed for its chat. localhost:${port} is on its list now.`);
    expect((await h.waitForReplies(5))[4].text).toBe(`RESULT tunnel:\nhello from the web: GET /page exit=0`);
    const main = h.app.store.mainGroup()!;
    expect(groupSettings(main).allowedDomains).toEqual([`localhost:${port}`]);
    expect(h.app.store.groupChanges(main.id, 1)[0]).toMatchObject({ actor: 'owner:local:local:owner', change: { allowedDomains: { from: null, to: [`localhost:${port}`] } } });

    await h.say('fetch'); // on the list now: no card
    expect((await h.waitForReplies(6))[5].text).toBe(`RESULT fetch:\nhello from the web: GET /page exit=0`);
    expect(h.cards).toHaveLength(3);
    expect(statuses()).toEqual(['once', 'deny', 'chat']);
    expect(await h.pressCard(first.id, 'chat')).toBe(`Request ${first.id} (localhost) was already allowed once.`);
    const log = runBoard(h.config.dataDir).recentEgress(10).filter((d) => d.host === 'localhost').reverse();
    expect(log.map((d) => [d.method, d.allowed, d.reason?.replace(/^.*; /, '')])).toEqual([
      ['GET', true, 'the owner allowed it once'],
      ['GET', false, 'the owner denied it'],
      ['GET', false, 'the owner denied it'],
      ['CONNECT', true, 'the owner allowed it for this chat'],
      ['GET', true, undefined],
    ]);
  });

  it('no answer in time fails closed; a "never ask" chat is refused without a card', async () => {
    const port = await startWeb();
    h = await startHarness({ script: steps(port), env: env(port, { CARAPACE_EGRESS_APPROVAL_TIMEOUT_SECONDS: '2' }) });
    addGroup(h, 'family', { containerConfig: { egressNeverAsk: true } });
    const quiet = await runStep(h, 'local:family', 'fetch');
    expect(quiet).toContain(`localhost:${port} is not on this chat's allowed list; this chat is set to never ask the owner`);
    expect(h.cards).toHaveLength(0);

    await h.say('fetch');
    const [card] = await cardsAtLeast(1);
    const [reply] = await h.waitForReplies(1);
    expect(reply.text).toContain(`localhost:${port} is not on this chat's allowed list; the owner did not answer within 2 s`);
    expect(reply.text).toContain('exit=0'); // curl got the proxy's clear 403 body
    expect(h.app.store.approvals.byId(Number(card.id))).toMatchObject({ status: 'expired', decidedBy: 'timeout' });
  });
});

describe('egress approvals: attacks', () => {
  it('one chat cannot flood the owner with cards: past the cap its requests are refused without one', async () => {
    h = await startHarness({ env: { CARAPACE_EGRESS_DEFAULT_ALLOW: '' } });
    const main = h.app.store.mainGroup()!;
    const asks = Array.from({ length: MAX_PENDING_PER_CHAT + 1 }, (_, i) => askOwner(h!.config.dataDir, main.id, { host: `site${i}.example`, port: 443, method: 'CONNECT' }));
    expect(await asks.at(-1)).toEqual({ allowed: false, reason: `${MAX_PENDING_PER_CHAT} requests of this chat are already waiting for the owner`, asked: false });
    await cardsAtLeast(MAX_PENDING_PER_CHAT);
    await h.say(`deny 1`);
    expect(await asks[0]).toEqual({ allowed: false, reason: 'the owner denied it' });
    expect(h.cards).toHaveLength(MAX_PENDING_PER_CHAT);
  });

  it('a pending approval fails closed across a restart: the old card cannot answer, the list is unchanged', async () => {
    const port = await startWeb();
    h = await startHarness({ script: steps(port), env: env(port) });
    await h.say('fetch');
    const [card] = await cardsAtLeast(1);
    await h.restart();
    expect(h.app.store.approvals.byId(Number(card.id))).toMatchObject({ status: 'expired', decidedBy: 'restart' });
    expect(await h.pressCard(card.id, 'chat')).toBe(`Request ${card.id} (localhost) was already refused without an answer.`);
    await h.say(`allow ${card.id} chat`);
    expect((await h.waitForReplies(1)).at(-1)!.text).toBe(`Request ${card.id} (localhost) was already refused without an answer.`);
    expect(groupSettings(h.app.store.mainGroup()!).allowedDomains).toBeNull();
  });

  it('on Telegram only the owner’s button press answers; a group member, a stranger and another channel are refused', async () => {
    const port = await startWeb();
    telegram = await new FakeTelegram().start();
    const saved = { account: `@${BOT.username}`, token: TOKEN, botId: BOT.id, username: BOT.username!, name: BOT.first_name };
    const channels: TelegramChannel[] = [];
    h = await startHarness({
      script: steps(port),
      env: env(port, { TELEGRAM_API_ROOT: telegram.url }),
      channels: (config, log) => [new TelegramChannel({ ...telegramOptions(config, saved, log), backoff: { baseMs: 100, maxMs: 400 } })].map((c) => (channels.push(c), c)),
    });
    await until(() => channels[0].health().state === 'connected', 10_000, () => 'Telegram connected');
    const code = newPairingCode();
    h.app.store.issuePairingCode('telegram', code, Date.now() + PAIRING_CODE_TTL_MS);
    telegram.receive(dmWith(people.olga), people.olga, { text: code });
    await until(() => h!.app.store.mainGroup()?.chatId === 'tg:111', 10_000, () => 'main moved to Telegram');

    telegram.receive(dmWith(people.olga), people.olga, { text: 'fetch' });
    const card = await until(() => telegram!.sentTo(111).find((m) => m.buttons), 30_000, () => `a card in ${JSON.stringify(telegram!.sent)}`);
    expect(card.buttons).toEqual([['Allow once', 'card:1:once'], ['Allow for this chat', 'card:1:chat'], ['Deny', 'card:1:deny']]);
    telegram.press(card, people.bob, 'card:1:chat');
    telegram.press(card, people.eve, 'card:1:once');
    await until(() => telegram!.callbackAnswers.length >= 2, 10_000, () => 'two toasts');
    expect(telegram.callbackAnswers.map((a) => a.text)).toEqual(['Only the owner can answer this.', 'Only the owner can answer this.']);
    expect(await h.pressCard('1', 'once')).toBe('Only the owner can answer this.'); // the card went to Telegram, not the local chat
    expect(h.app.store.approvals.byId(1)?.status).toBe('pending');

    telegram.press(card, people.olga, 'card:1:once');
    const result = await until(() => telegram!.sentTo(111).find((m) => m.text?.startsWith('RESULT fetch:')), 30_000, () => 'the fetch result');
    expect(result.text).toBe('RESULT fetch:\nhello from the web: GET /page exit=0');
    expect(telegram.callbackAnswers.at(-1)?.text).toBe(`Request 1: localhost:${port} for "main" allowed once.`);
    expect(h.app.store.approvals.byId(1)).toMatchObject({ status: 'once', decidedBy: 'telegram:111' });
  });
});

describe('egress approvals on Slack', () => {
  it('Block Kit buttons over Socket Mode: a non-owner’s press is refused, the owner’s answers', async () => {
    const port = await startWeb();
    slack = new FakeSlack();
    await slack.start();
    const credentials = { account: '@andy in Fake Team', appToken: APP_TOKEN, botToken: BOT_TOKEN, botUserId: BOT_USER, botId: 'B1', team: 'Fake Team' };
    h = await startHarness({
      script: steps(port),
      env: env(port, { SLACK_API_URL: slack.apiUrl }),
      channels: (config, log) => [new SlackChannel({ ...slackOptions(config, log, credentials), retry: { baseMs: 100, maxMs: 400, authAttempts: 5 } })],
    });
    await until(() => slack!.connections === 1, 10_000, () => 'Slack connected');
    const code = newPairingCode();
    h.app.store.issuePairingCode('slack', code, Date.now() + PAIRING_CODE_TTL_MS);
    slack.message({ channel: 'DOWNER', user: 'UOWNER', text: code });
    await until(() => h!.app.store.mainGroup()?.chatId === 'slack:DOWNER', 10_000, () => 'main moved to Slack');

    slack.message({ channel: 'DOWNER', user: 'UOWNER', text: 'fetch' });
    const card = await until(() => slack!.posted.find((p) => p.buttons), 30_000, () => `a card in ${JSON.stringify(slack!.posted)}`);
    expect(card.buttons).toEqual([['Allow once', 'card:1:once'], ['Allow for this chat', 'card:1:chat'], ['Deny', 'card:1:deny']]);
    slack.press(card, 'UBOB', 'card:1:chat');
    await until(() => slack!.ephemerals.length >= 1, 10_000, () => 'the refusal');
    expect(slack.ephemerals[0]).toEqual({ channel: 'DOWNER', user: 'UBOB', text: 'Only the owner can answer this.' });
    expect(h.app.store.approvals.byId(1)?.status).toBe('pending');
    slack.press(card, 'UOWNER', 'card:1:once');
    const result = await until(() => slack!.posted.find((p) => p.text.startsWith('RESULT fetch:')), 30_000, () => 'the fetch result');
    expect(result.text).toBe('RESULT fetch:\nhello from the web: GET /page exit=0');
    expect(h.app.store.approvals.byId(1)).toMatchObject({ status: 'once', decidedBy: 'slack:UOWNER' });
  });
});

describe('egress approvals on Discord', () => {
  it('message components over the gateway: a non-owner’s press is refused, the owner’s answers', async () => {
    const port = await startWeb();
    const f = (discord = await new FakeDiscord().start());
    const DM = '720000000000000001';
    const olga: FakeUser = { id: '800000000000000001', username: 'olga', global_name: 'Olga' };
    const bob: FakeUser = { id: '800000000000000002', username: 'bob', global_name: 'Bob' };
    h = await startHarness({
      script: steps(port),
      env: env(port),
      channels: (config, log) => [
        new DiscordChannel({ token: DISCORD_TOKEN, account: '@carapace', applicationId: DISCORD_BOT.id, apiUrl: f.apiUrl, maxMediaBytes: 1e6, assistantName: config.assistantName, log }),
      ],
    });
    await until(() => f.connected && f.identifies.length > 0, 10_000, () => 'Discord connected');
    const dm = (content: string) => f.dispatch('MESSAGE_CREATE', discordMessage({ id: f.snowflake(), channel_id: DM, author: olga, content }));
    const code = newPairingCode();
    h.app.store.issuePairingCode('discord', code, Date.now() + PAIRING_CODE_TTL_MS);
    dm(code);
    await until(() => h!.app.store.mainGroup()?.chatId === `dc:${DM}`, 10_000, () => 'main moved to Discord');

    dm('fetch');
    const card = await until(() => f.sent.find((m) => m.buttons), 30_000, () => `a card in ${JSON.stringify(f.texts())}`);
    expect(card.buttons).toEqual([['Allow once', 'card:1:once'], ['Allow for this chat', 'card:1:chat'], ['Deny', 'card:1:deny']]);
    f.press(card, bob, 'card:1:chat');
    await until(() => f.interactionReplies.length >= 1, 10_000, () => 'the refusal');
    expect(f.interactionReplies[0].slice(1)).toEqual(['Only the owner can answer this.', 64]); // ephemeral
    expect(h.app.store.approvals.byId(1)?.status).toBe('pending');
    f.press(card, olga, 'card:1:once');
    const result = await until(() => f.sent.find((m) => m.content.startsWith('RESULT fetch:')), 30_000, () => 'the fetch result');
    expect(result.content).toBe('RESULT fetch:\nhello from the web: GET /page exit=0');
    expect(h.app.store.approvals.byId(1)).toMatchObject({ status: 'once', decidedBy: `discord:${olga.id}` });
  });
});

describe('approval replies', () => {
  it('reads "allow N", "allow N chat" and "deny N", and nothing else', () => {
    expect(parseReply('allow 3')).toEqual({ id: 3, choice: 'once' });
    expect(parseReply(' Allow #12 chat ')).toEqual({ id: 12, choice: 'chat' });
    expect(parseReply('deny 4.')).toEqual({ id: 4, choice: 'deny' });
    for (const text of ['allow', 'deny 4 chat', 'allow 3 forever', 'please allow 3', 'allow x']) expect(parseReply(text)).toBeUndefined();
  });
});

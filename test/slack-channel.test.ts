// The Slack channel against the fake Slack at the wire: the real Bolt App in Socket Mode and the real WebClient,
// with a hand-written ChannelHost recording what the channel asks of Carapace.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChannelUnavailableError, ChatUnreachableError, SetupError, type ChannelHost, type ChatInfo, type InboundMessage } from '../src/channels/channel.js';
import { slackCredentials } from '../src/channels/slack/credentials.js';
import { slackSetup } from '../src/channels/slack/setup.js';
import { SlackChannel } from '../src/channels/slack/slack-channel.js';
import { testConfig, testEnv } from './support/harness.js';
import { runCli, spawnCli } from './support/run-cli.js';
import { APP_TOKEN, BOT_TOKEN, BOT_USER, FakeSlack } from './support/fake-slack.js';
import { until } from './support/wait.js';

const log = pino({ level: 'silent' });
const credentials = { account: '@andy in Fake Team', appToken: APP_TOKEN, botToken: BOT_TOKEN, botUserId: BOT_USER, botId: 'B1', team: 'Fake Team', teamId: 'T1' };

class RecordingHost implements ChannelHost {
  registered = new Set<string>();
  seen: ChatInfo[] = [];
  told: string[] = [];
  notices: string[] = [];
  threads: ChatInfo[] = [];
  strangers: string[] = [];
  readies = 0;
  saved = new Map<string, Buffer>();
  isRegistered = (chatId: string) => this.registered.has(chatId);
  openThread = (parent: string, thread: ChatInfo) => {
    if (!this.registered.has(parent)) return false;
    this.threads.push(thread);
    return true;
  };
  owner = () => ({ userId: 'UOWNER', chatId: 'slack:DOWNER', name: 'Olga' });
  strangerDm = (_c: string, sender: { userId: string }, _chat: ChatInfo, text: string) => {
    this.strangers.push(`${sender.userId}: ${text}`);
    return text === '123456' ? { paired: true, reply: 'Paired.' } : { paired: false, reply: 'Not for you.' };
  };
  tellMain = (_key: string, text: string) => void this.told.push(text);
  groupFolder = (chatId: string) =>
    this.registered.has(chatId) ? { sandboxPath: '/workspace/group', save: (rel: string, data: Uint8Array) => void this.saved.set(rel, Buffer.from(data)) } : undefined;
  chatsSeen = (chats: ChatInfo[]) => void this.seen.push(...chats);
  notice = (_chat: string, _key: string, text: string) => void this.notices.push(text);
  ready = () => void this.readies++;
  mainChat = () => undefined;
}

let slack: FakeSlack;
let channel: SlackChannel | undefined;
beforeEach(async () => {
  slack = new FakeSlack();
  await slack.start();
});
afterEach(async () => {
  await channel?.disconnect();
  channel = undefined;
  await slack.close();
});

async function connected(opts: { maxChars?: number; maxMediaBytes?: number } = {}) {
  const host = new RecordingHost();
  const inbox: InboundMessage[] = [];
  channel = new SlackChannel({
    credentials,
    apiUrl: slack.apiUrl,
    maxMediaBytes: opts.maxMediaBytes ?? 1024,
    assistantName: 'Andy',
    log,
    clientPingTimeoutMs: 1_000,
    retry: { baseMs: 50, maxMs: 200, authAttempts: 3 },
    maxChars: opts.maxChars,
  });
  await channel.connect((m) => inbox.push(m), host);
  await until(() => channel!.health().state === 'connected', 10_000, () => `connected, is ${JSON.stringify(channel!.health())}`);
  return { host, inbox };
}

describe('Slack setup', () => {
  function io(dataDir: string) {
    const out: string[] = [];
    const config = testConfig(dataDir, 'http://127.0.0.1:9', { SLACK_API_URL: slack.apiUrl });
    return { out, io: { out: { write: (t: string) => out.push(t) }, ask: async () => Promise.reject(new Error('no terminal')), config } };
  }
  function tokenFiles(dir: string, app: string, bot: string) {
    writeFileSync(join(dir, 'app'), `${app}\n`);
    writeFileSync(join(dir, 'bot'), bot);
    return { appTokenFile: join(dir, 'app'), botTokenFile: join(dir, 'bot') };
  }

  it('prints the manifest with every scope explained, proves both tokens and saves them owner-only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slack-setup-'));
    const { out, io: setupIo } = io(dir);
    await expect(slackSetup.add(tokenFiles(dir, APP_TOKEN, BOT_TOKEN), setupIo)).resolves.toBe('@andy in Fake Team');
    const printed = out.join('');
    const manifest = JSON.parse(printed.slice(printed.indexOf('{'), printed.lastIndexOf('}\n') + 1));
    expect(manifest.settings.socket_mode_enabled).toBe(true);
    for (const scope of manifest.oauth_config.scopes.bot) expect(printed).toMatch(new RegExp(`\\n  ${scope.replace('.', '\\.')} +\\w`));
    expect(slackCredentials(setupIo.config)).toMatchObject({ appToken: APP_TOKEN, botToken: BOT_TOKEN, botUserId: BOT_USER });
    expect(slackSetup.account(setupIo.config)).toBe('@andy in Fake Team');
    slackSetup.remove(setupIo.config);
    expect(slackCredentials(setupIo.config)).toBeUndefined();
  });

  it('`carapace channel add slack` takes the tokens piped in, one a line, and `channel remove slack` forgets them', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'slack-cli-'));
    const env = { ...testEnv(dataDir, 'http://127.0.0.1:9'), SLACK_API_URL: slack.apiUrl, PATH: process.env.PATH };
    const { proc, done } = spawnCli(['channel', 'add', 'slack'], { cwd: dataDir, env });
    proc.stdin!.end(`${APP_TOKEN}\n${BOT_TOKEN}\n`);
    const run = await done;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('"socket_mode_enabled": true');
    expect(run.stdout).toContain('@andy in Fake Team');
    expect(slackCredentials(testConfig(dataDir, 'http://127.0.0.1:9'))?.botToken).toBe(BOT_TOKEN);
    expect((await runCli(['channel', 'remove', 'slack'], { cwd: dataDir, env })).code).toBe(0);
    expect(slackCredentials(testConfig(dataDir, 'http://127.0.0.1:9'))).toBeUndefined();
  });

  it('names the wrong token: swapped, refused, or from another app', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slack-setup-'));
    const { io: setupIo } = io(dir);
    await expect(slackSetup.add(tokenFiles(dir, BOT_TOKEN, APP_TOKEN), setupIo)).rejects.toThrow(/app-level token is wrong: that is the bot token/);
    await expect(slackSetup.add(tokenFiles(dir, APP_TOKEN, 'xoxb-nope'), setupIo)).rejects.toThrow(/Slack refused the bot token \(invalid_auth\)/);
    await expect(slackSetup.add(tokenFiles(dir, 'xapp-nope', BOT_TOKEN), setupIo)).rejects.toThrow(/Slack refused the app-level token \(invalid_auth\)/);
    slack.botAppId = 'A0OTHER';
    const mixed = slackSetup.add(tokenFiles(dir, APP_TOKEN, BOT_TOKEN), setupIo);
    await expect(mixed).rejects.toThrow(SetupError);
    await expect(mixed).rejects.toThrow(/different apps: the app-level token to A0APP, the bot token to A0OTHER/);
    expect(slackCredentials(setupIo.config)).toBeUndefined();
  });
});

describe('Slack channel at the wire', () => {
  it('owner DMs go to the sink; a stranger only reaches the pairing check and is answered directly', async () => {
    const { host, inbox } = await connected();
    slack.message({ channel: 'DOWNER', user: 'UOWNER', text: 'hi &amp; hello <@UBOB>' });
    slack.message({ channel: 'DBOB', user: 'UBOB', text: '123456' });
    await until(() => inbox.length === 1 && slack.posted.length === 1);
    expect(inbox[0]).toMatchObject({ chatId: 'slack:DOWNER', senderId: 'UOWNER', senderName: 'Olga', text: 'hi & hello @Bob', addressed: false });
    expect(host.strangers).toEqual(['UBOB: 123456']);
    expect(slack.posted[0]).toMatchObject({ channel: 'DBOB', text: 'Paired.' });
    expect(inbox.some((m) => m.senderId === 'UBOB')).toBe(false);
    expect([...slack.acks].length).toBeGreaterThanOrEqual(2);
  });

  it('unregistered channels are seen by name only; an invitation is told to main', async () => {
    const { host, inbox } = await connected();
    slack.message({ channel: 'CFAMILY', user: 'UBOB', text: 'private talk' });
    slack.sendEvent({ type: 'member_joined_channel', user: BOT_USER, channel: 'CFAMILY', channel_type: 'C' });
    await until(() => host.told.length === 1);
    expect(host.seen).toEqual([{ chatId: 'slack:CFAMILY', name: '#family', isGroup: true }]);
    expect(host.told[0]).toBe('I was added to #family (slack:CFAMILY); register it from here to use me there');
    expect(inbox).toEqual([]);
  });

  it('a mention in a registered channel is addressed; a thread reply opens the thread; edits come as new messages', async () => {
    const { host, inbox } = await connected();
    host.registered.add('slack:CFAMILY');
    const top = slack.message({ channel: 'CFAMILY', user: 'UBOB', text: '<@UBOT> what is 2 < 3?' });
    slack.message({ channel: 'CFAMILY', user: 'UBOB', text: 'in the thread', thread_ts: top });
    slack.sendEvent({ type: 'message', subtype: 'message_changed', channel: 'CFAMILY', ts: '1.1', message: { user: 'UBOB', text: 'fixed', ts: top, edited: { ts: '1700000999.000000' } } });
    slack.sendEvent({ type: 'message', subtype: 'message_deleted', channel: 'CFAMILY', ts: '1.2', deleted_ts: top });
    await until(() => inbox.length === 3, 5_000, () => JSON.stringify(inbox));
    expect(inbox[0]).toMatchObject({ chatId: 'slack:CFAMILY', text: '@Andy what is 2 < 3?', addressed: true, senderName: 'Bob', chatName: '#family' });
    expect(inbox[1]).toMatchObject({ chatId: `slack:CFAMILY:${top}`, text: 'in the thread', addressed: false });
    expect(host.threads).toEqual([{ chatId: `slack:CFAMILY:${top}`, name: `#family (thread ${top})`, isGroup: true }]);
    expect(inbox[2]).toMatchObject({ chatId: 'slack:CFAMILY', platformId: `${top}/edit/1700000999.000000`, text: '(edited) fixed' });
    expect(slack.calls.filter((c) => c === 'users.info')).toHaveLength(1); // names are cached
  });

  it('files are downloaded with the bot token into media/, capped; a refused one is told to the chat', async () => {
    const { host, inbox } = await connected({ maxMediaBytes: 100 });
    host.registered.add('slack:CFAMILY');
    const small = slack.addFile('../../notes.txt', Buffer.from('shopping list'));
    const big = slack.addFile('big.bin', Buffer.alloc(500));
    slack.message({ channel: 'CFAMILY', user: 'UBOB', text: 'see these', files: [small, { ...big, size: 10 }] });
    await until(() => inbox.length === 1);
    const [name] = [...host.saved.keys()];
    expect(name).toMatch(/^media\/\d{4}-\d\d-\d\d-F\d+-notes\.txt$/);
    expect(host.saved.get(name)!.toString()).toBe('shopping list');
    expect(inbox[0].text).toBe(`see these\n[file: /workspace/group/${name}]\n[file big.bin not saved: it could not be downloaded: larger than the 0.00 MB limit]`);
    expect(host.notices).toHaveLength(1);
  });

  it('replies: mrkdwn, in the thread, role as username, split, files; a 429 waits Retry-After; a gone chat is unreachable', async () => {
    await connected({ maxChars: 60 });
    await channel!.send('slack:CFAMILY:1700000000.000100', '**Hi** <you> & [docs](https://x.test/?a=1&b=2)', { sender: 'Researcher' });
    expect(slack.posted[0]).toMatchObject({ channel: 'CFAMILY', thread_ts: '1700000000.000100', username: 'Researcher', text: '*Hi* &lt;you&gt; &amp; <https://x.test/?a=1&amp;b=2|docs>' });
    await channel!.send('slack:CFAMILY', `${'word '.repeat(20)}\n\n${'more '.repeat(10)}`);
    const parts = slack.posted.slice(1).map((p) => p.text);
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.every((p) => p.length <= 60)).toBe(true);
    expect(parts.join(' ')).toBe(`${'word '.repeat(20).trim()} ${'more '.repeat(10).trim()}`);
    expect(slack.posted.slice(1).some((p) => p.thread_ts)).toBe(false);
    slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const before = Date.now();
    await channel!.send('slack:CFAMILY', 'after the limit');
    expect(Date.now() - before).toBeGreaterThanOrEqual(950);
    expect(slack.posted.at(-1)!.text).toBe('after the limit');
    await expect(channel!.send('slack:CNOPE', 'x')).rejects.toThrow(ChatUnreachableError);
    const file = join(mkdtempSync(join(tmpdir(), 'slack-out-')), 'out.txt');
    writeFileSync(file, 'file body');
    await channel!.sendFile('slack:CFAMILY:1700000000.000100', { path: file, fileName: 'out.txt', caption: '**look**' });
    expect(slack.uploads[0]).toMatchObject({ channel_id: 'CFAMILY', thread_ts: '1700000000.000100', filename: 'out.txt', initial_comment: '*look*' });
    expect(slack.uploads[0].data.toString()).toBe(readFileSync(file, 'utf8'));
  });

  it('typing is a ⏳ reaction on the message being answered, removed at the end', async () => {
    const { host, inbox } = await connected();
    host.registered.add('slack:CFAMILY');
    const ts = slack.message({ channel: 'CFAMILY', user: 'UBOB', text: '<@UBOT> hi' });
    await until(() => inbox.length === 1);
    await channel!.setTyping('slack:CFAMILY', true);
    await channel!.setTyping('slack:CFAMILY', false);
    expect(slack.reactions).toEqual([
      { how: 'add', channel: 'CFAMILY', timestamp: ts, name: 'hourglass_flowing_sand' },
      { how: 'remove', channel: 'CFAMILY', timestamp: ts, name: 'hourglass_flowing_sand' },
    ]);
  });

  it('reconnects after a disconnect envelope and a dropped socket; sends wait while it is away', async () => {
    const { host } = await connected();
    expect(host.readies).toBe(1);
    slack.disconnect();
    await until(() => channel!.health().state !== 'connected', 5_000);
    await expect(channel!.send('slack:CFAMILY', 'now?')).rejects.toThrow(ChannelUnavailableError);
    await until(() => host.readies === 2 && channel!.health().state === 'connected', 10_000, () => JSON.stringify(channel!.health()));
    slack.drop();
    await until(() => host.readies === 3 && slack.connections === 1, 10_000, () => JSON.stringify(channel!.health()));
    expect(channel!.health()).toMatchObject({ state: 'connected', mode: 'socket mode', account: '@andy in Fake Team' });
  });

  it('a refused token is retried a bounded number of times, then the channel reports failed', async () => {
    slack.revoked.add(APP_TOKEN);
    const host = new RecordingHost();
    channel = new SlackChannel({ credentials, apiUrl: slack.apiUrl, maxMediaBytes: 1024, assistantName: 'Andy', log, retry: { baseMs: 20, maxMs: 50, authAttempts: 3 } });
    await channel.connect(() => undefined, host);
    await until(() => channel!.health().state === 'failed', 10_000, () => JSON.stringify(channel!.health()));
    expect(channel.health().detail).toMatch(/refused the app-level token \(invalid_auth\) 3 times/);
    expect(slack.calls.filter((c) => c === 'apps.connections.open')).toHaveLength(3);
  });

  it("a token refused during Bolt's own reconnect is retried the same bounded way, with no crash", async () => {
    const { host } = await connected();
    slack.revoked.add(APP_TOKEN);
    slack.drop();
    await until(() => channel!.health().state === 'failed', 15_000, () => JSON.stringify(channel!.health()));
    expect(channel!.health().detail).toMatch(/refused the app-level token \(invalid_auth\) 3 times/);
    expect(host.readies).toBe(1);
  });

  it('an unreachable Slack is reported offline, never failed, and connect() does not wait for it', async () => {
    const lines: string[] = [];
    const recording = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    channel = new SlackChannel({ credentials, apiUrl: 'http://127.0.0.1:9/api', maxMediaBytes: 1024, assistantName: 'Andy', log: recording, retry: { baseMs: 20, maxMs: 50, authAttempts: 2 } });
    await channel.connect(() => undefined, new RecordingHost());
    await until(() => channel!.health().state === 'offline', 20_000, () => JSON.stringify(channel!.health()));
    expect(channel.health().detail).toMatch(/^Slack is unreachable; retrying in \d+ s$/);
    await new Promise((r) => setTimeout(r, 200));
    expect(channel.health().state).toBe('offline');
    expect(lines.filter((l) => l.includes('"msg":"Slack offline"'))).toHaveLength(1); // one line per change, not per retry
  });
});

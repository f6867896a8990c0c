// WhatsApp end to end: messages pushed through the fake Baileys socket go through the real pipeline (store,
// queue, bubblewrap sandbox running the real Agent SDK against the fake API) and the replies come back out of
// the socket. Media reaches the agent at its sandbox path; send_file goes back out as a WhatsApp document.
import { afterEach, describe, expect, it } from 'vitest';
import { defaultScript, text, toolUse } from './support/fake-anthropic.js';
import {
  closeError,
  FakeMediaCdn,
  FakeWhatsApp,
  fakeWhatsAppChannel,
  groupMetadata,
  OWNER_PN,
  waMessage,
  type SentMessage,
} from './support/fake-whatsapp.js';
import { startHarness, type Harness } from './support/harness.js';
import { until } from './support/wait.js';

const FAMILY = '120363000000000001@g.us';
const BOB = '4915100000002@s.whatsapp.net';
const SELF = `${OWNER_PN}@s.whatsapp.net`;

let h: Harness | undefined;
const cdn = new FakeMediaCdn();
afterEach(async () => {
  await h?.close();
  h = undefined;
  await cdn.close();
});

function sentTo(wa: FakeWhatsApp, jid: string, n: number, timeoutMs = 30_000): Promise<SentMessage[]> {
  const sent = () => wa.sent.filter((s) => s.jid === jid);
  return until(() => sent().length >= n && sent(), timeoutMs, () => `${n} WhatsApp messages to ${jid}, got ${JSON.stringify(wa.texts())} (log: ${h?.logFile})`);
}

async function startWithWhatsApp(script = defaultScript) {
  const wa = new FakeWhatsApp();
  wa.groups = [groupMetadata(FAMILY, 'Family', [BOB])];
  h = await startHarness({ script, channels: (config, log) => [fakeWhatsAppChannel(wa, config, log)] });
  await until(() => h!.app.pairing?.status().status === 'open' && h!.app.store.groupByChat(`wa:${SELF}`), 10_000, () => 'WhatsApp connected');
  return wa;
}

describe('WhatsApp end to end', () => {
  it('a group message with the trigger reaches the sandboxed agent; the reply goes back through the socket', async () => {
    const wa = await startWithWhatsApp();
    h!.app.orchestrator.registerGroup({ channel: 'wa', chatId: `wa:${FAMILY}`, name: 'Family', folder: 'family', trigger: '@Andy', requiresTrigger: true, isMain: false });
    wa.receive([waMessage({ chat: FAMILY, from: BOB, pushName: 'Bob', message: { conversation: 'no trigger, just chatting' } })]);
    wa.receive([waMessage({ chat: FAMILY, from: BOB, pushName: 'Bob', message: { extendedTextMessage: { text: '@Andy what do you think?' } } })]);
    const [reply] = await sentTo(wa, FAMILY, 1);
    expect('text' in reply.content && reply.content.text).toMatch(
      /^Andy: ECHO: <messages>\n<message sender="Bob" time="[^"]+">no trigger, just chatting<\/message>\n<message sender="Bob" time="[^"]+">@Andy what do you think\?<\/message>\n<\/messages>$/,
    );
    const typing = wa.presences.filter((p) => p.jid === FAMILY).map((p) => p.type);
    expect(typing[0]).toBe('composing');
    expect(typing.at(-1)).toBe('paused');
    // Stored with the platform's id: the reply is in the chat's history, our own echo did not start a run.
    await new Promise((r) => setTimeout(r, 300));
    const history = h!.app.store.recentMessages(`wa:${FAMILY}`, 10);
    expect(history.map((m) => m.fromAssistant)).toEqual([false, false, true]);
    expect(h!.app.store.db.prepare('SELECT COUNT(*) AS n FROM runs').get()).toEqual({ n: 1 });
  });

  it('a photo in the self-chat (main): the agent reads it in its folder and sends a file back', async () => {
    await cdn.start();
    const photo = await cdn.upload(Buffer.from('a photo of a receipt: total 42 eur'), 'image', 'receipt.jpg');
    const wa = await startWithWhatsApp((req) => {
      if (req.isSideRequest) return defaultScript(req);
      const media = /\/workspace\/group\/media\/[\w.-]+/.exec(req.allUserText.join('\n'))?.[0];
      const result = req.toolResults[0]?.content ?? '';
      if (!req.toolResults.length) {
        return { content: [toolUse('Bash', { command: `tr a-z A-Z < ${media} > shout.txt && cat shout.txt`, description: 'read the photo' })] };
      }
      if (!result.startsWith('Sending')) return { content: [toolUse('mcp__carapace__send_file', { path: 'shout.txt', caption: '**loud** copy' })] };
      return { content: [text(`DONE ${media}`)] };
    });
    wa.receive([waMessage({ chat: '99900000001@lid', fromMe: true, pushName: 'Olga Owner', message: { imageMessage: { ...photo, mimetype: 'image/jpeg', caption: 'what is this?' } } })]);
    const sent = await sentTo(wa, SELF, 2);
    expect(sent[0].content).toEqual({
      document: Buffer.from('A PHOTO OF A RECEIPT: TOTAL 42 EUR'),
      mimetype: 'text/plain',
      fileName: 'shout.txt',
      caption: 'Andy: *loud* copy',
    });
    expect('text' in sent[1].content && sent[1].content.text).toMatch(/^Andy: DONE \/workspace\/group\/media\/\d{4}-\d\d-\d\d-[A-F0-9]+\.jpg$/);
    const history = h!.app.store.recentMessages(`wa:${SELF}`, 10).map((m) => [m.fromAssistant, m.text]);
    expect(history[0]).toEqual([false, expect.stringMatching(/^\[image: \/workspace\/group\/media\/.*\.jpg\]\nwhat is this\?$/)]);
    expect(history[1]).toEqual([true, '[file: shout.txt] **loud** copy']);
  });

  it('WhatsApp logging out does not take the local chat down', async () => {
    const wa = await startWithWhatsApp();
    void wa.current.end(closeError(401, 'Connection Failure'));
    await until(() => h!.app.pairing?.status().status === 'logged-out');
    await h!.say('still there?');
    const [reply] = await h!.waitForReplies(1);
    expect(reply.text).toContain('still there?');
  });
});

// WhatsApp across a process boundary, for a Carapace running in a child process (the fault harness): the
// platform side of the fake lives in files of a folder both processes share.
//   inbox.jsonl      messages people sent (the test appends). The child's socket hands over every line it has
//                    not handed over in this process: after a restart that is all of them again, the way WhatsApp
//                    redelivers what a dead client never acknowledged (Carapace keeps each message id once).
//   sent.jsonl       every send WhatsApp accepted, with its message id, written before the sender hears back.
//   kill-after-send  a flag: the next accepted send ends the child with SIGKILL right after WhatsApp took it.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WAMessage } from '@whiskeysockets/baileys';
import { FakeWhatsApp, waMessage } from './fake-whatsapp.js';

export interface WireSent {
  id: string;
  jid: string;
  text: string;
}

const files = (dir: string) => ({ inbox: join(dir, 'inbox.jsonl'), sent: join(dir, 'sent.jsonl'), killFlag: join(dir, 'kill-after-send') });

const readLines = <T>(file: string): T[] =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as T) : [];

/** The test's side: what people say, what WhatsApp accepted, and the kill switch. */
export class WaWire {
  private readonly f: ReturnType<typeof files>;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.f = files(dir);
  }

  say(chat: string, from: string, text: string): void {
    appendFileSync(this.f.inbox, `${JSON.stringify(waMessage({ chat, from, pushName: 'Wanda', message: { conversation: text } }))}\n`);
  }

  sent(): WireSent[] {
    return readLines<WireSent>(this.f.sent);
  }

  killAfterNextSend(): void {
    writeFileSync(this.f.killFlag, '');
  }

  disarm(): void {
    rmSync(this.f.killFlag, { force: true });
  }
}

/** The child's side: a FakeWhatsApp wired to the folder. Returns the fake, whose factory the child's Carapace uses. */
export function wireChildWhatsApp(dir: string, groups: FakeWhatsApp['groups']): FakeWhatsApp {
  const f = files(dir);
  const wa = new FakeWhatsApp();
  wa.groups = groups;
  wa.onSent = (m) => {
    const text = 'text' in m.content ? m.content.text : '';
    appendFileSync(f.sent, `${JSON.stringify({ id: m.options?.messageId, jid: m.jid, text })}\n`);
    if (existsSync(f.killFlag)) {
      rmSync(f.killFlag, { force: true });
      process.kill(process.pid, 'SIGKILL');
    }
  };
  let handedOver = 0;
  const poll = setInterval(() => {
    const socket = wa.sockets.at(-1);
    if (!socket || socket.closed || !socket.user) return;
    const inbox = readLines<WAMessage>(f.inbox);
    if (inbox.length > handedOver) wa.receive(inbox.slice(handedOver));
    handedOver = inbox.length;
  }, 100);
  poll.unref();
  return wa;
}

// Helpers for end-to-end scenarios with several groups and a scripted model that runs named tool steps.
import { readFileSync } from 'node:fs';
import type { Group } from '../../src/store/store.js';
import { defaultScript, text, type Block, type Script } from './fake-anthropic.js';
import type { Harness } from './harness.js';
import { until } from './wait.js';

/** The text of the newest message in a formatted prompt (the agent's <messages> envelope), unescaped. */
export function newestMessage(prompt: string): string {
  const all = [...prompt.matchAll(/<message [^>]*>([\s\S]*?)<\/message>/g)];
  const raw = all.at(-1)?.[1] ?? prompt;
  return raw.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * A model that answers a message naming a step with that step's tool calls, then reports every tool result as
 * `RESULT <step>:\n<result>` (one per call, errors marked), so a test can read what the agent saw.
 */
export function stepScript(steps: Record<string, Block[]>): Script {
  const pending = new Map<string, string>(); // session → step in flight
  return (req) => {
    if (req.isSideRequest) return defaultScript(req);
    const session = req.sessionId ?? '';
    if (req.toolResults.length > 0) {
      const step = pending.get(session) ?? '?';
      const results = req.toolResults.map((r) => `${r.isError ? '[error] ' : ''}${r.content}`).join('\n---\n');
      return { content: [text(`RESULT ${step}:\n${results}`)] };
    }
    const said = newestMessage(req.lastUserText).replace(/^@\w+\s*/, '').trim();
    const blocks = steps[said];
    if (!blocks) return { content: [text(`no step named ${JSON.stringify(said)}`)] };
    pending.set(session, said);
    return { content: blocks };
  };
}

/** Say a step's name in `chatId` and resolve with its `RESULT <step>:` reply (what its tools returned). */
export function runStep(h: Harness, chatId: string, step: string, timeoutMs = 30_000): Promise<string> {
  const after = h.app.store.recentMessages(chatId, 1).at(-1)?.id ?? 0;
  sayIn(h, chatId, step);
  return until(
    () => h.app.store.recentMessages(chatId, 100).find((m) => m.id > after && m.fromAssistant && m.text.startsWith(`RESULT ${step}:`))?.text,
    timeoutMs,
    () => `the result of "${step}" in ${chatId} (log: ${h.logFile})`,
  );
}

export function addGroup(h: Harness, folder: string, opts: { isMain?: boolean; containerConfig?: Record<string, unknown> } = {}): Group {
  return h.app.orchestrator.registerGroup({
    channel: 'local',
    chatId: `local:${folder}`,
    name: folder,
    folder,
    trigger: '@Andy',
    requiresTrigger: false,
    isMain: opts.isMain ?? false,
    containerConfig: opts.containerConfig,
  });
}

let platformSeq = 0;
/** A message from a person in `chatId`, as a channel would deliver it. */
export function sayIn(h: Harness, chatId: string, text: string): void {
  h.app.orchestrator.handleInbound({ chatId, platformId: `t-${++platformSeq}`, senderId: 'someone', senderName: 'Someone', text, timestamp: Date.now() });
}

/** The assistant's messages in a chat once there are at least `n`, oldest first. */
export function repliesIn(h: Harness, chatId: string, n: number, timeoutMs = 30_000): Promise<string[]> {
  return until(() => {
    const texts = h.app.store.recentMessages(chatId, 100).filter((m) => m.fromAssistant).map((m) => m.text);
    return texts.length >= n ? texts : undefined;
  }, timeoutMs, () => `fewer than ${n} replies in ${chatId} (log: ${h.logFile})`);
}

/** Every structured log line written so far. */
export function logLines(h: Harness): any[] {
  return readFileSync(h.logFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

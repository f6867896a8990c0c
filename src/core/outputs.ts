// What a run's outputs do: results and messages go to the outbox, files are spooled out of the agent's reach,
// requests are answered through the host ops. Replayed outputs are harmless: the outbox key is (run, seq).
import type { Output } from '../ipc/protocol.js';
import { stripInternal } from '../router/format.js';
import type { Group } from '../store/store.js';
import { FileRefused, spoolGroupFile } from '../boundary/outbound-files.js';
import { OpError, runOp, type OpHost } from '../ops/registry.js';
import type { AgentRun } from './agent-run.js';
import { setTyping, type Core } from './core.js';

/** What an output belongs to; `isolated` outputs never touch the group's session. */
export interface OutputContext {
  group: Group;
  runId: string;
  isolated: boolean;
  /** The live run, absent when outputs of a dead run are replayed at start-up. */
  run?: AgentRun;
}

export function handleOutput(core: Core, opHost: OpHost, ctx: OutputContext, output: Output): void {
  const { store, log } = core;
  const { group, runId, isolated, run } = ctx;
  switch (output.type) {
    case 'session':
      if (!run?.retired && !isolated) store.setSession(group.id, output.sessionId);
      break;
    case 'result':
      handleResult(core, ctx, output);
      break;
    case 'message':
      store.queueOutput({ runId, seq: output.seq, chatId: group.chatId, text: output.text, groupId: group.id, sender: output.sender });
      core.delivery.kick();
      break;
    case 'file':
      queueFile(core, group, runId, output.seq, output.path, output.caption);
      break;
    case 'error':
      log.warn({ group: group.folder, run: runId, error: output.message }, 'agent reported an error');
      break;
    case 'request':
      // A request from a run that is gone has nobody to answer; a failed answer ends at most that run.
      if (run) answer(core, opHost, run, output).catch((err) => log.error({ group: group.folder, run: runId, err }, 'could not answer a request'));
      break;
  }
}

function handleResult(core: Core, { group, runId, run }: OutputContext, output: Extract<Output, { type: 'result' }>): void {
  const { store } = core;
  const answered = store.inputMessage(runId, output.answered);
  core.queue.noteProgress(group.id);
  const text =
    stripInternal(output.text) || (run?.isCommand(output.answered) ? 'Conversation compacted. The full transcript is saved in conversations/.' : '');
  // A task occurrence may answer in another chat (main's digest of its sources); everything else answers here.
  const chatId = store.tasks.deliveryTarget(runId, output.answered) ?? group.chatId;
  if (text) store.queueOutput({ runId, seq: output.seq, chatId, text, groupId: group.id, answered });
  else if (answered !== undefined) store.advanceCursor(group.id, answered);
  store.tasks.completeAnswered(runId, output.answered, text);
  if (run?.idle) {
    setTyping(core, group.chatId, false);
    // Task runs end after their work; a chat run stays warm unless someone (another group, or a task of this
    // one that cannot join it) needs the slot.
    if (run.mode !== 'chat' || core.queue.waitingGroups.length > 0 || store.tasks.hasClaimed(group.id)) run.close();
  }
  core.delivery.kick();
}

/** Run the op the agent asked for, with the authority of the run's own group, and write the answer back. */
async function answer(core: Core, opHost: OpHost, run: AgentRun, request: Extract<Output, { type: 'request' }>): Promise<void> {
  const { store, log } = core;
  const { seq, id, op, args } = request;
  try {
    const result = await runOp({ group: run.group, runId: run.id, seq, store, host: opHost }, op, args);
    run.respond(id, { ok: true, result });
  } catch (err) {
    const error = err instanceof OpError ? err.message : 'internal error';
    log[err instanceof OpError ? 'warn' : 'error']({ group: run.group.folder, run: run.id, op, err }, 'agent request refused');
    run.respond(id, { ok: false, error });
  }
}

/** send_file: copy the file out of the agent's reach, then queue it like any reply (same idempotent key). */
function queueFile(core: Core, group: Group, runId: string, seq: number, path: string, caption = ''): void {
  const { store, log, paths } = core;
  const base = { runId, seq, chatId: group.chatId, groupId: group.id };
  if (store.hasOutput(runId, seq)) return; // replayed after a crash: already queued, maybe already sent
  try {
    const file = spoolGroupFile(paths.group(group.workspace), path, paths.outboxFiles, `${runId}-${seq}`);
    store.queueOutput({ ...base, text: caption, file });
  } catch (err) {
    const reason = err instanceof FileRefused ? err.message : `could not read it (${(err as Error).message})`;
    log.warn({ group: group.folder, run: runId, path, reason }, 'send_file refused');
    store.queueOutput({ ...base, text: `⚠️ I could not send the file ${path}: ${reason}` });
  }
  core.delivery.kick();
}

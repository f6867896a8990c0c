// What the owner's console shows of the agents at work: the live runs of one install, the tool calls each made,
// and the egress proxies' recent allow/deny decisions. Kept in memory (the log file has the full history); one
// board per data folder, since one folder has one running Carapace.
import { EventEmitter } from 'node:events';

/** One tool call as the runner's audit line reported it (input and result already clipped by the runner). */
export interface ToolCall {
  at: number;
  name: string;
  input: string;
  ok: boolean;
  result: string;
}

export interface EgressDecision {
  at: number;
  group: string;
  host: string;
  port: number;
  method: string;
  allowed: boolean;
  reason?: string;
}

/** A live run as the board sees it; `stop` ends it at the owner's request. */
export interface BoardRun {
  id: string;
  groupId: number;
  folder: string;
  mode: string;
  startedAt: number;
  stop(reason: string): void;
}

export interface RunView extends Omit<BoardRun, 'stop'> {
  tools: ToolCall[];
}

export type BoardEvent =
  | { kind: 'start' | 'end'; runId: string }
  | { kind: 'tool'; runId: string; tool: ToolCall }
  | { kind: 'egress'; decision: EgressDecision };

const TOOLS_PER_RUN = 200;
const EGRESS_KEPT = 500;

export class RunBoard {
  private readonly live = new Map<string, { run: BoardRun; tools: ToolCall[] }>();
  private readonly egressLog: EgressDecision[] = [];
  private readonly events = new EventEmitter();

  add(run: BoardRun): void {
    this.live.set(run.id, { run, tools: [] });
    this.emit({ kind: 'start', runId: run.id });
  }

  remove(runId: string): void {
    if (this.live.delete(runId)) this.emit({ kind: 'end', runId });
  }

  tool(runId: string, call: Omit<ToolCall, 'at'>): void {
    const entry = this.live.get(runId);
    if (!entry) return;
    const tool = { at: Date.now(), ...call };
    entry.tools.push(tool);
    if (entry.tools.length > TOOLS_PER_RUN) entry.tools.shift();
    this.emit({ kind: 'tool', runId, tool });
  }

  egress(decision: Omit<EgressDecision, 'at'>): void {
    const entry = { at: Date.now(), ...decision };
    this.egressLog.push(entry);
    if (this.egressLog.length > EGRESS_KEPT) this.egressLog.shift();
    this.emit({ kind: 'egress', decision: entry });
  }

  runs(): RunView[] {
    return [...this.live.values()].map(({ run, tools }) => {
      const { stop: _stop, ...view } = run;
      return { ...view, tools: tools.slice() };
    });
  }

  /** False when no such run is live (it may have just ended). */
  stop(runId: string, reason: string): boolean {
    const entry = this.live.get(runId);
    entry?.run.stop(reason);
    return !!entry;
  }

  /** Newest first. */
  recentEgress(limit: number): EgressDecision[] {
    return this.egressLog.slice(-limit).reverse();
  }

  subscribe(listener: (event: BoardEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  private emit(event: BoardEvent): void {
    this.events.emit('event', event);
  }
}

const boards = new Map<string, RunBoard>();

/** The board of the install whose data folder this is. */
export function runBoard(dataDir: string): RunBoard {
  let board = boards.get(dataDir);
  if (!board) boards.set(dataDir, (board = new RunBoard()));
  return board;
}

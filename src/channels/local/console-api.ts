// The console's JSON API under /api/console/ (behind the local chat's token): a route table onto the small
// modules that do the work, and the live run board as server-sent events.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BoardEvent, RunBoard } from '../../core/run-board.js';
import { ConsoleError, type ConsoleDeps } from './console-context.js';
import * as data from './console-data.js';
import * as groups from './console-groups.js';
import { readBody, sendJson } from './http.js';

type Handler = (deps: ConsoleDeps, params: string[], body: unknown, url: URL) => unknown;

const ROUTES: Array<[method: string, pattern: RegExp, handler: Handler]> = [
  ['GET', /^overview$/, (d) => data.overview(d)],
  ['GET', /^groups$/, (d) => groups.listGroups(d)],
  ['POST', /^groups$/, (d, _, body) => groups.registerGroup(d, body)],
  ['PATCH', /^groups\/(\d+)$/, (d, [id], body) => groups.updateGroup(d, Number(id), body)],
  ['DELETE', /^groups\/(\d+)$/, (d, [id]) => groups.unregisterGroup(d, Number(id))],
  ['POST', /^groups\/(\d+)\/settings-changed$/, (d, [id], body) => groups.settingsChanged(d, Number(id), body)],
  ['GET', /^runs$/, (d) => data.liveRuns(d)],
  ['POST', /^runs\/([\w-]+)\/stop$/, (d, [id]) => data.stopRun(d, id)],
  ['GET', /^tasks$/, (d) => data.listTasks(d)],
  ['GET', /^tasks\/([\w-]+)\/history$/, (d, [id]) => data.taskHistory(d, id)],
  ['POST', /^tasks\/([\w-]+)\/(\w+)$/, (d, [id, action]) => data.taskAction(d, id, action)],
  ['GET', /^spend$/, (d, _, __, url) => data.spend(d, Number(url.searchParams.get('days') ?? 14))],
  ['GET', /^egress$/, (d) => data.egressLog(d)],
  ['GET', /^pairing$/, (d) => data.pairingChannels(d)],
  ['POST', /^pairing\/([\w-]+)$/, (d, [channel]) => data.issuePairingCode(d, channel)],
];

const BODY_LIMIT = 64 * 1024;

export class ConsoleApi {
  constructor(
    private readonly board: RunBoard,
    /** The install's parts, once they all exist (the local channel is built before the orchestrator). */
    private readonly deps: () => ConsoleDeps | undefined,
  ) {}

  /** Answer a request under /api/console/ (already authorized). */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const deps = this.deps();
    if (!deps) return sendJson(res, 503, { error: 'Carapace is still starting' });
    const path = url.pathname.slice('/api/console/'.length);
    for (const [method, pattern, handler] of ROUTES) {
      const match = pattern.exec(path);
      if (!match || method !== req.method) continue;
      const body = await this.body(req, res);
      if (body === false) return;
      try {
        return sendJson(res, 200, (await handler(deps, match.slice(1), body, url)) ?? { ok: true });
      } catch (err) {
        if (err instanceof ConsoleError) return sendJson(res, err.status, { error: err.message });
        throw err;
      }
    }
    sendJson(res, 404, { error: 'Not found' });
  }

  /** Follow the run board: each event as a frame for the page's event stream. */
  subscribe(listener: (frame: string) => void): () => void {
    return this.board.subscribe((event: BoardEvent) => listener(`event: board\ndata: ${JSON.stringify(event)}\n\n`));
  }

  /** The JSON body (undefined when empty), or false once an error was sent. */
  private async body(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    if (req.method === 'GET' || req.method === 'DELETE') return undefined;
    const raw = await readBody(req, BODY_LIMIT);
    if (raw === undefined) {
      sendJson(res, 413, { error: `Body too large (limit ${BODY_LIMIT} bytes)` }, true);
      return false;
    }
    if (raw.trim() === '') return undefined;
    try {
      return JSON.parse(raw);
    } catch {
      sendJson(res, 400, { error: 'Body must be JSON' });
      return false;
    }
  }
}

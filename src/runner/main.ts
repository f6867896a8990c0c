// The agent runner: the program that runs inside a sandbox. Its first steps stay light: bridge the egress socket
// and start Claude Code; the SDK and the tools (./agent.js) load while Claude Code boots.
import { EGRESS_SOCKET } from '../ipc/mounts.js';
import { startEarlyCli } from './early-cli.js';
import { startSocketBridge } from './socket-bridge.js';
import { start } from './start.js';

const egress = await startSocketBridge(EGRESS_SOCKET);
const early = startEarlyCli(start, egress.url);
const { runAgent } = await import('./agent.js');
await runAgent(egress, early);

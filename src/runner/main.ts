// The agent runner: the program that runs inside a sandbox. Its first steps stay light: connect the host's
// sockets and start Claude Code; the SDK and the tools (./agent.js) load while Claude Code boots.
import { EGRESS_SOCKET, MODEL_SOCKET } from '../ipc/mounts.js';
import { startEarlyCli } from './early-cli.js';
import { startSocketBridge } from './socket-bridge.js';
import { start } from './start.js';

const model = await startSocketBridge(process.env.CARAPACE_MODEL_SOCKET ?? MODEL_SOCKET);
const egress = await startSocketBridge(process.env.CARAPACE_EGRESS_SOCKET ?? EGRESS_SOCKET);
const early = startEarlyCli(start, { model: model.url, egress: egress.url });
const { runAgent } = await import('./agent.js');
await runAgent(model, egress, early);

// The fault harness's child: the real `carapace start` (lock, signals, crash handlers, every channel set up in the
// data directory) with WhatsApp over the file wire (./wa-wire.ts) instead of the internet.
import { processContext } from '../../src/cli/context.js';
import { start } from '../../src/cli/start.js';
import { groupMetadata } from './fake-whatsapp.js';
import { wireChildWhatsApp } from './wa-wire.js';

const [wireDir, ...groupIds] = process.argv.slice(2);
const wa = wireChildWhatsApp(wireDir, groupIds.map((id, i) => groupMetadata(id, `Soak ${i + 1}`)));
const ctx = { ...processContext(), whatsapp: { factory: wa.factory } };
await start(ctx);

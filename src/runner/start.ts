// The run this sandbox is for: the host's start request, read once from the mounted run directory.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IPC_MOUNT } from '../ipc/mounts.js';
import type { StartRequest } from '../ipc/protocol.js';

export const ipc = process.env.CARAPACE_IPC_DIR ?? IPC_MOUNT;
export const start = JSON.parse(readFileSync(join(ipc, 'start.json'), 'utf8')) as StartRequest;

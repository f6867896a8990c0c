// Which backend the running (or last) Carapace of a data directory uses, for `status` and the console: written
// at start, read by commands that run beside it.
import fs from 'node:fs';
import path from 'node:path';
import { RUNTIME_KINDS, type RuntimeKind } from './runtime.js';

export interface BackendInUse {
  kind: RuntimeKind;
  /** When that Carapace started with it (ISO time). */
  since: string;
}

// Not *.json: bubblewrap keeps one <sandbox>.json record per sandbox in the same folder.
const file = (stateDir: string) => path.join(stateDir, 'backend-in-use');

export function recordBackend(stateDir: string, kind: RuntimeKind, now = new Date()): void {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(file(stateDir), `${JSON.stringify({ kind, since: now.toISOString() })}\n`, { mode: 0o600 });
}

/** The recorded backend, or null when none was recorded (never started) or the record is unreadable. */
export function backendInUse(stateDir: string): BackendInUse | null {
  try {
    const r = JSON.parse(fs.readFileSync(file(stateDir), 'utf8')) as Partial<BackendInUse>;
    return RUNTIME_KINDS.includes(r.kind as RuntimeKind) && typeof r.since === 'string' ? { kind: r.kind as RuntimeKind, since: r.since } : null;
  } catch {
    return null;
  }
}

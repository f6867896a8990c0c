// A backend that could not be prepared (say, Docker runs but cannot build the agent image) is remembered, so
// `auto` does not try it again on every start. The memory holds until the image settings change, or until a
// successful `carapace image build` or `carapace setup` proves the backend again.
import fs from 'node:fs';
import path from 'node:path';
import type { ImageConfig } from './image.js';
import type { RuntimeKind } from './runtime.js';

export interface PrepareFailure {
  /** The image settings it failed with; other settings are worth a new try. */
  key: string;
  reason: string;
  at: string;
}

// Not *.json: bubblewrap keeps one <sandbox>.json record per sandbox in the same folder.
const FILE = 'prepare-failures';
const keyOf = (image: ImageConfig) => JSON.stringify([image.base, image.chromium]);

export class PrepareMemory {
  private readonly file: string;
  constructor(stateDir: string, private readonly image: ImageConfig) {
    this.file = path.join(stateDir, FILE);
  }

  private read(): Partial<Record<RuntimeKind, PrepareFailure>> {
    try {
      const data = JSON.parse(fs.readFileSync(this.file, 'utf8')) as unknown;
      return data && typeof data === 'object' ? (data as Partial<Record<RuntimeKind, PrepareFailure>>) : {};
    } catch {
      return {}; // none yet, or unreadable: then every backend gets its try
    }
  }

  private write(all: Partial<Record<RuntimeKind, PrepareFailure>>): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(this.file, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
  }

  /** The remembered failure of `kind` with the current image settings, if any. */
  failure(kind: RuntimeKind): PrepareFailure | undefined {
    const f = this.read()[kind];
    return f && f.key === keyOf(this.image) && typeof f.reason === 'string' ? f : undefined;
  }

  remember(kind: RuntimeKind, reason: string, now = new Date()): void {
    this.write({ ...this.read(), [kind]: { key: keyOf(this.image), reason: reason.slice(0, 2000), at: now.toISOString() } });
  }

  forget(kind: RuntimeKind): void {
    const all = this.read();
    if (!all[kind]) return;
    delete all[kind];
    this.write(all);
  }
}

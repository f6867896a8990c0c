// One JSON file per running bubblewrap sandbox, so another runtime instance (after a crash) can find, stop and
// clean up sandboxes it did not start.
import fs from 'node:fs';
import path from 'node:path';

export interface StateRecord {
  name: string;
  labels: Record<string, string>;
  pid: number;
  startTime?: string;
  cgroups: string[];
}

export class StateDir {
  constructor(readonly dir: string) {}

  path(name: string): string {
    return path.join(this.dir, `${name}.json`);
  }

  write(rec: StateRecord): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path(rec.name)}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(rec));
    fs.renameSync(tmp, this.path(rec.name)); // atomic: readers never see half a file
  }

  read(name: string): StateRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.path(name), 'utf8')) as StateRecord;
    } catch {
      return undefined;
    }
  }

  /** Delete the record of `name` if it still describes the process `pid` (a new sandbox of that name may exist). */
  remove(name: string, pid: number): void {
    if (this.read(name)?.pid === pid) fs.rmSync(this.path(name), { force: true });
  }

  all(): StateRecord[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((f) => f.endsWith('.json'))
      .map((f) => this.read(f.slice(0, -'.json'.length)))
      .filter((r): r is StateRecord => !!r);
  }
}

// Host access to trees an agent can write: group folders (media/, conversations/), its SDK state, run in/ and
// out/. The tree's root is the host's; everything below it is hostile and may be swapped at any moment for a
// symbolic link, a FIFO or a directory. So no path below the root is ever resolved as a whole: each directory is
// opened with O_NOFOLLOW|O_DIRECTORY and the next name is looked up *in that open directory* through
// /proc/self/fd/<fd>/<name> (Linux's stand-in for openat: the magic link is the opened directory itself, so a
// component renamed or replaced after we opened it cannot redirect us). Files are created O_EXCL|O_NOFOLLOW, read
// O_NOFOLLOW|O_NONBLOCK with a size cap, and handed to the sandbox user with fchown on the open descriptor.
//
// Without /proc (macOS, Apple Container) each component is checked with lstat before use instead. That still
// refuses links and non-directories that are already there, but leaves a race: a component swapped between the
// check and the use is followed. Only the final component stays protected by O_NOFOLLOW.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants as C,
  existsSync,
  fchownSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';

export interface Owner {
  uid: number;
  gid: number;
}

/** A refusal to touch something inside an agent-writable tree, with the path (relative to the tree) and why. */
export class UnsafePathError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
    /** What callers may act on without reading the message: nothing there, or more than they allowed. */
    readonly kind: 'missing' | 'too-large' | 'unsafe' = 'unsafe',
  ) {
    super(`${path} ${problem}`);
    this.name = 'UnsafePathError';
  }
}

const PROC_FD = process.platform === 'linux' && existsSync('/proc/self/fd');
const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW | C.O_NONBLOCK;
const READ_FLAGS = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;
const CREATE_FLAGS = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_NONBLOCK;
const asRoot = () => process.getuid?.() === 0;

function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFile()) return 'a regular file';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'a device';
}

/** What is at `entry` now, for an error message ("a FIFO"), or undefined when nothing is. */
function kindAt(entry: string): string | undefined {
  try {
    return kindOf(lstatSync(entry));
  } catch {
    return undefined;
  }
}

/** Turn a failed open/mkdir/rename of `rel` into a refusal that says what is in the way. */
function refusal(rel: string, entry: string, err: unknown, wanted: string): UnsafePathError {
  const code = (err as NodeJS.ErrnoException).code;
  const kind = kindAt(entry); // O_NOFOLLOW|O_DIRECTORY on a link fails with ENOTDIR, not ELOOP: ask what is there
  if (code === 'ELOOP' || kind === 'a symbolic link') return new UnsafePathError(rel, 'is a symbolic link');
  if (code === 'ENOENT') return new UnsafePathError(rel, 'does not exist', 'missing');
  if (kind && (code === 'ENOTDIR' || code === 'EISDIR' || code === 'ENXIO' || code === 'EEXIST' || code === 'ENOTEMPTY'))
    return new UnsafePathError(rel, `exists and is ${kind}, not ${wanted}`);
  return new UnsafePathError(rel, `cannot be used (${code ?? (err as Error).message})`);
}

/** Split a tree-relative path into names; "..", "." and empty names are never legitimate here. */
function namesOf(rel: string): string[] {
  const names = rel.split('/').filter((n) => n !== '');
  for (const n of names) if (n === '.' || n === '..') throw new UnsafePathError(rel, 'is not a plain relative path');
  return names;
}

/** An open directory inside a tree; `entry(name)` addresses a name in it without resolving the path again. */
class OpenDir {
  constructor(
    readonly fd: number,
    private readonly path: string,
  ) {}
  entry(name: string): string {
    return PROC_FD ? `/proc/self/fd/${this.fd}/${name}` : join(this.path, name);
  }
  close(): void {
    closeSync(this.fd);
  }
}

function ignoreMissing(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
}

/**
 * Read the `size` bytes fstat reported; undefined when the file holds more (it grew since). The buffer is sized
 * by the file, not by the cap, so small outputs stay cheap under a large cap.
 */
function readSized(fd: number, size: number): Buffer | undefined {
  const buf = Buffer.allocUnsafe(size + 1);
  let len = 0;
  for (let n; len <= size && (n = readSync(fd, buf, len, size + 1 - len, null)) > 0; ) len += n;
  return len > size ? undefined : buf.subarray(0, len);
}

/**
 * A directory tree an agent can write, rooted at a directory the host made. Paths given to its methods are
 * relative to the root and '/'-separated; nothing below the root is followed if it is a link, and anything the
 * host creates is handed to `owner` (when running as root, where ownership is not mapped by a user namespace).
 */
export class AgentTree {
  constructor(
    readonly root: string,
    private readonly owner?: Owner,
  ) {}

  /**
   * Write a file. Default: atomically replace whatever regular file (or link, which is replaced, never followed)
   * is there. `ifAbsent`: create it only if nothing has that name yet; returns false when something has.
   */
  write(rel: string, data: string | Uint8Array, opts: { mode?: number; ifAbsent?: boolean } = {}): boolean {
    const names = namesOf(rel);
    const name = names.pop();
    if (!name) throw new UnsafePathError(rel, 'names no file');
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const dir = this.openDir(names, true);
    try {
      if (opts.ifAbsent) return this.createFile(dir, name, rel, bytes, opts.mode, true);
      const tmp = `.tmp-${randomBytes(6).toString('hex')}`;
      this.createFile(dir, tmp, rel, bytes, opts.mode);
      try {
        renameSync(dir.entry(tmp), dir.entry(name)); // same directory fd on both sides: no path can redirect it
      } catch (err) {
        ignoreMissing(() => unlinkSync(dir.entry(tmp))); // gone with its directory, if the agent removed that
        throw refusal(rel, dir.entry(name), err, 'a regular file');
      }
      return true;
    } finally {
      dir.close();
    }
  }

  /** Read a regular file of at most `maxBytes`; links, FIFOs, directories and bigger files are refused. */
  read(rel: string, maxBytes: number): Buffer {
    return this.withFile(rel, READ_FLAGS, (fd) => {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new UnsafePathError(rel, `is ${kindOf(st)}, not a regular file`);
      if (st.size > maxBytes) throw new UnsafePathError(rel, `is ${st.size} bytes, more than the ${maxBytes} allowed`, 'too-large');
      const data = readSized(fd, st.size);
      if (!data) throw new UnsafePathError(rel, 'grew while it was being read');
      return data;
    });
  }

  /** The regular files directly in directory `rel` (links, FIFOs and subdirectories are left out), with size and time. */
  files(rel: string): { name: string; size: number; mtimeMs: number }[] {
    const dir = this.openDir(namesOf(rel), false);
    try {
      const found = [];
      for (const name of readdirSync(dir.entry('.'))) {
        const st = lstatSync(dir.entry(name), { throwIfNoEntry: false });
        if (st?.isFile()) found.push({ name, size: st.size, mtimeMs: st.mtimeMs });
      }
      return found;
    } finally {
      dir.close();
    }
  }

  /** Delete the regular file `rel`; anything else there (a link, a directory) is refused and left alone. */
  remove(rel: string): void {
    const names = namesOf(rel);
    const name = names.pop();
    if (!name) throw new UnsafePathError(rel, 'names no file');
    const dir = this.openDir(names, false);
    try {
      const st = lstatSync(dir.entry(name), { throwIfNoEntry: false });
      if (!st) throw new UnsafePathError(rel, 'does not exist', 'missing');
      if (!st.isFile()) throw new UnsafePathError(rel, `is ${kindOf(st)}, not a regular file`);
      unlinkSync(dir.entry(name));
    } finally {
      dir.close();
    }
  }

  /** Hand `rel` to the sandbox user; a link there is refused, never followed. */
  chown(rel: string): void {
    if (!this.owner || !asRoot()) return;
    const owner = this.owner;
    this.withFile(rel, READ_FLAGS, (fd) => fchownSync(fd, owner.uid, owner.gid));
  }

  /** Open `rel` (which must not be the root) with `flags` and run `fn` on the descriptor. */
  private withFile<T>(rel: string, flags: number, fn: (fd: number) => T): T {
    const names = namesOf(rel);
    const name = names.pop();
    if (!name) throw new UnsafePathError(rel, 'names no file');
    const dir = this.openDir(names, false);
    let fd: number;
    try {
      fd = openSync(dir.entry(name), flags);
    } catch (err) {
      throw refusal(rel, dir.entry(name), err, 'a regular file');
    } finally {
      dir.close();
    }
    try {
      return fn(fd);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Create `name` (O_EXCL) and fill it. `existsOk`: something already there is not an error (returns false). A
   * failed write (a full disk the agent caused, say) removes the partial file rather than leaving it to be trusted.
   */
  private createFile(dir: OpenDir, name: string, rel: string, data: Uint8Array, mode = 0o644, existsOk = false): boolean {
    let fd: number;
    try {
      fd = openSync(dir.entry(name), CREATE_FLAGS, mode);
    } catch (err) {
      if (existsOk && (err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw refusal(rel, dir.entry(name), err, 'a regular file');
    }
    try {
      writeAll(fd, data);
      if (this.owner && asRoot()) fchownSync(fd, this.owner.uid, this.owner.gid);
    } catch (err) {
      ignoreMissing(() => unlinkSync(dir.entry(name)));
      throw err;
    } finally {
      closeSync(fd);
    }
    return true;
  }

  /** Open the directory `names` below the root, one component at a time; `create` makes missing ones. */
  private openDir(names: string[], create: boolean): OpenDir {
    let dir = new OpenDir(openSync(this.root, C.O_RDONLY | C.O_DIRECTORY), this.root);
    for (let i = 0; i < names.length; i++) {
      const rel = names.slice(0, i + 1).join('/');
      try {
        dir = this.step(dir, names[i], rel, create);
      } catch (err) {
        dir.close();
        throw err;
      }
    }
    return dir;
  }

  /** From open directory `dir` into its subdirectory `name` (closing `dir` on success). */
  private step(dir: OpenDir, name: string, rel: string, create: boolean): OpenDir {
    const entry = dir.entry(name);
    if (!PROC_FD) {
      const kind = kindAt(entry); // the fallback's check-then-use (see the top of this file)
      if (kind && kind !== 'a directory') throw new UnsafePathError(rel, kind === 'a symbolic link' ? 'is a symbolic link' : `exists and is ${kind}, not a directory`);
    }
    let created = false;
    if (create) {
      try {
        mkdirSync(entry, 0o755);
        created = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw refusal(rel, entry, err, 'a directory');
      }
    }
    let fd: number;
    try {
      fd = openSync(entry, DIR_FLAGS);
    } catch (err) {
      throw refusal(rel, entry, err, 'a directory');
    }
    // Ownership through the descriptor we hold: what we created, even if the name was swapped since.
    if (created && this.owner && asRoot()) {
      try {
        fchownSync(fd, this.owner.uid, this.owner.gid);
      } catch (err) {
        closeSync(fd);
        throw err;
      }
    }
    const next = new OpenDir(fd, join(this.root, rel));
    dir.close();
    return next;
  }
}

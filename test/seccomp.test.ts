// The bubblewrap seccomp filter as a program: its shape (architecture check first), every table entry present
// for both architectures, and its decisions, found by running it in a small interpreter of the BPF subset it uses.
// The numbers are checked against the kernel's own headers when this host has them. test/attacks/syscalls.test.ts
// proves the same filter in real sandboxes.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AUDIT_ARCH, DATA, OP, RET, seccompFilter, seccompProgram, X32_SYSCALL_BIT, type SeccompArch, type SockFilter } from '../src/sandbox/seccomp.js';
import { CLONE_NAMESPACE_FLAGS, DENIED, PERSONALITY_ALLOWED } from '../src/sandbox/seccomp-table.js';

const ARCHES: SeccompArch[] = ['x64', 'arm64'];
const EPERM = RET.ERRNO | 1;
const ENOSYS = RET.ERRNO | 38;

/** Run the filter on one call, as the kernel would; fails on a jump out of the program or a fall off its end. */
function run(prog: SockFilter[], call: { arch: number; nr: number; arg0?: number }): number {
  let a = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, jt, jf, k } = prog[pc];
    const branch = (taken: boolean) => {
      pc += taken ? jt : jf;
      if (pc + 1 >= prog.length) throw new Error(`jump past the end at ${pc}`);
    };
    if (code === OP.LD_ABS) a = k === DATA.arch ? call.arch : k === DATA.nr ? call.nr : k === DATA.arg0Low ? (call.arg0 ?? 0) : NaN;
    else if (code === OP.JEQ) branch(a === k);
    else if (code === OP.JGE) branch(a >>> 0 >= k >>> 0);
    else if (code === OP.JSET) branch(((a & k) >>> 0) !== 0);
    else if (code === OP.RET) return k >>> 0;
    else throw new Error(`unexpected opcode ${code} at ${pc}`);
  }
  throw new Error('fell off the end of the program');
}

const SAFE: Record<SeccompArch, Record<string, number>> = {
  x64: { read: 0, write: 1, mmap: 9, execve: 59, openat: 257, wait4: 61 },
  arm64: { read: 63, write: 64, mmap: 222, execve: 221, openat: 56, wait4: 260 },
};

describe.each(ARCHES)('seccomp filter for %s', (arch) => {
  const prog = seccompFilter(arch);
  const call = (nr: number, arg0?: number) => run(prog, { arch: AUDIT_ARCH[arch], nr, arg0 });
  const nrOf = (name: string) => DENIED.find((d) => d.name === name)![arch]!;

  it('checks the architecture first and kills a call of any other', () => {
    expect(prog[0]).toEqual({ code: OP.LD_ABS, jt: 0, jf: 0, k: DATA.arch });
    expect(prog[1]).toMatchObject({ code: OP.JEQ, k: AUDIT_ARCH[arch], jt: 1, jf: 0 });
    expect(prog[2]).toEqual({ code: OP.RET, jt: 0, jf: 0, k: RET.KILL_PROCESS });
    expect(prog[3]).toEqual({ code: OP.LD_ABS, jt: 0, jf: 0, k: DATA.nr });
    const other = arch === 'x64' ? AUDIT_ARCH.arm64 : AUDIT_ARCH.x64;
    for (const nr of [0, 1, 39, nrOf('ptrace')]) expect(run(prog, { arch: other, nr })).toBe(RET.KILL_PROCESS);
    expect(run(prog, { arch: 0x40000003 /* AUDIT_ARCH_I386 */, nr: 20 })).toBe(RET.KILL_PROCESS);
  });

  it('has a test for every denied call that exists on this architecture, and denies it', () => {
    const present = DENIED.filter((d) => d[arch] !== null);
    expect(present.length).toBeGreaterThan(arch === 'x64' ? 60 : 50);
    const tested = new Set(prog.slice(4).filter((i) => i.code === OP.JEQ).map((i) => i.k));
    for (const d of present) {
      expect(tested, d.name).toContain(d[arch]);
      if (d.arg0) continue; // decided by the argument, below
      expect({ name: d.name, result: call(d[arch]!) }).toEqual({ name: d.name, result: d.errno === 'ENOSYS' ? ENOSYS : EPERM });
    }
    expect(new Set(present.map((d) => d[arch])).size).toBe(present.length); // no number listed twice
  });

  it('lets ordinary calls through', () => {
    for (const [name, nr] of Object.entries(SAFE[arch])) expect({ name, result: call(nr) }).toEqual({ name, result: RET.ALLOW });
  });

  it('allows clone for threads and fork but not with a namespace flag; clone3 gets ENOSYS', () => {
    const SIGCHLD = 17;
    const threadFlags = 0x3d0f00; // glibc pthread_create: VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
    expect(call(nrOf('clone'), SIGCHLD)).toBe(RET.ALLOW);
    expect(call(nrOf('clone'), threadFlags)).toBe(RET.ALLOW);
    for (let bit = 0; bit < 32; bit++)
      if (CLONE_NAMESPACE_FLAGS & (1 << bit)) expect(call(nrOf('clone'), ((1 << bit) | SIGCHLD) >>> 0)).toBe(EPERM);
    expect(call(nrOf('clone3'))).toBe(ENOSYS);
  });

  it('allows only the harmless personality values and refuses AF_VSOCK sockets', () => {
    for (const v of PERSONALITY_ALLOWED) expect(call(nrOf('personality'), v)).toBe(RET.ALLOW);
    for (const v of [0x0040000 /* ADDR_NO_RANDOMIZE */, 0x0400000 /* READ_IMPLIES_EXEC */, 0x0000001]) expect(call(nrOf('personality'), v)).toBe(EPERM);
    expect(call(nrOf('socket'), 40)).toBe(EPERM);
    for (const domain of [1 /* AF_UNIX */, 2 /* AF_INET */, 10 /* AF_INET6 */, 16 /* AF_NETLINK */]) expect(call(nrOf('socket'), domain)).toBe(RET.ALLOW);
  });

  it(arch === 'x64' ? 'refuses the x32 system call table' : 'has no x32 check on aarch64', () => {
    expect(call(X32_SYSCALL_BIT | 39)).toBe(arch === 'x64' ? EPERM : RET.ALLOW);
  });

  it('serializes as struct sock_filter (8 bytes each, little-endian)', () => {
    const buf = seccompProgram(arch);
    expect(buf.length).toBe(prog.length * 8);
    expect([buf.readUInt16LE(8), buf.readUInt8(10), buf.readUInt8(11), buf.readUInt32LE(12)]).toEqual([OP.JEQ, 1, 0, AUDIT_ARCH[arch]]);
    expect(buf.readUInt32LE(buf.length - 4)).toBe(RET.ALLOW);
    expect(prog.length).toBeLessThan(4096); // BPF_MAXINSNS
  });
});

// The numbers in the table, against the kernel headers that define them (linux-libc-dev), when present.
const HEADERS: Record<SeccompArch, string[]> = {
  x64: ['/usr/include/x86_64-linux-gnu/asm/unistd_64.h', '/usr/include/asm/unistd_64.h'],
  arm64: ['/usr/include/asm-generic/unistd.h'],
};
describe.each(ARCHES)('syscall numbers for %s', (arch) => {
  const header = HEADERS[arch].find((f) => fs.existsSync(f));
  it.skipIf(!header)(`match the kernel headers (${header ?? 'not installed here'})`, () => {
    const text = fs.readFileSync(header!, 'utf8');
    for (const d of DENIED) {
      const m = new RegExp(`#define __NR(?:3264)?_${d.name}\\s+(\\d+)`).exec(text);
      // Calls newer than the headers are not defined there; the generic table has no legacy x86 calls.
      if (m) expect({ name: d.name, nr: d[arch] }).toEqual({ name: d.name, nr: Number(m[1]) });
      else expect({ name: d.name, nr: d[arch] === null || d[arch]! > 440 }).toEqual({ name: d.name, nr: true });
    }
  });
});

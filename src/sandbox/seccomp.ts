// Builds the seccomp filter bwrap loads (`--seccomp FD`) from the table in seccomp-table.ts: a classic BPF program
// of `struct sock_filter` instructions that the kernel runs on every system call of the sandbox.
import { DENIED, type ArgTest, type Denial } from './seccomp-table.js';

export type SeccompArch = 'x64' | 'arm64';
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** AUDIT_ARCH_* of struct seccomp_data.arch: ELF machine | 64-bit | little-endian. */
export const AUDIT_ARCH: Record<SeccompArch, number> = { x64: 0xc000003e, arm64: 0xc00000b7 };
/** On x86_64, numbers with this bit select the x32 ABI, a second syscall table under the same audit arch. */
export const X32_SYSCALL_BIT = 0x40000000;

export const RET = { KILL_PROCESS: 0x80000000, ALLOW: 0x7fff0000, ERRNO: 0x00050000 } as const;
const ERRNO = { EPERM: 1, ENOSYS: 38 } as const;
export const OP = { LD_ABS: 0x20, JEQ: 0x15, JGE: 0x35, JSET: 0x45, RET: 0x06 } as const;
/** Offsets in struct seccomp_data: nr, arch, then instruction_pointer and args[6] (the low half first: both
 * supported architectures are little-endian). */
export const DATA = { nr: 0, arch: 4, arg0Low: 16 } as const;

const stmt = (code: number, k: number): SockFilter => ({ code, jt: 0, jf: 0, k });
const jump = (code: number, k: number, jt: number, jf: number): SockFilter => ({ code, jt, jf, k });
const ret = (k: number) => stmt(OP.RET, k);
const errno = (name: keyof typeof ERRNO) => ret(RET.ERRNO | ERRNO[name]);
const allow = ret(RET.ALLOW);

/** The host's architecture, if the filter has syscall numbers for it. */
export function seccompArch(arch: string = process.arch): SeccompArch | undefined {
  return arch === 'x64' || arch === 'arm64' ? arch : undefined;
}

/** Instructions that decide a call by its first argument; they end in a return on every path. */
function argBlock(test: ArgTest, deny: SockFilter): SockFilter[] {
  const load = stmt(OP.LD_ABS, DATA.arg0Low);
  switch (test.kind) {
    case 'anyBitOf':
      return [load, jump(OP.JSET, test.mask, 0, 1), deny, allow];
    case 'equals':
      return [load, jump(OP.JEQ, test.value, 0, 1), deny, allow];
    case 'oneOf': {
      // Each match jumps over the rest of the tests and the denial, onto the allow.
      const n = test.values.length;
      return [load, ...test.values.map((v, i) => jump(OP.JEQ, v, n - i, 0)), deny, allow];
    }
  }
}

/** One table entry: if the number matches, its decision; otherwise fall through with the number still loaded. */
function entry(nr: number, denial: Denial): SockFilter[] {
  const deny = errno(denial.errno ?? 'EPERM');
  const body = denial.arg0 ? argBlock(denial.arg0, deny) : [deny];
  return [jump(OP.JEQ, nr, 0, body.length), ...body];
}

/**
 * The filter for one architecture. Foreign architectures (32-bit calls through int 0x80, AArch32) are killed
 * outright: their numbers mean other calls. On x86_64 the x32 table is refused too.
 */
export function seccompFilter(arch: SeccompArch): SockFilter[] {
  const prog = [
    stmt(OP.LD_ABS, DATA.arch),
    jump(OP.JEQ, AUDIT_ARCH[arch], 1, 0),
    ret(RET.KILL_PROCESS),
    stmt(OP.LD_ABS, DATA.nr),
  ];
  if (arch === 'x64') prog.push(jump(OP.JGE, X32_SYSCALL_BIT, 0, 1), errno('EPERM'));
  for (const denial of DENIED) {
    const nr = denial[arch];
    if (nr !== null) prog.push(...entry(nr, denial));
  }
  prog.push(allow);
  return prog;
}

const programs = new Map<SeccompArch, Buffer>();

/** The filter as bwrap reads it: `struct sock_filter` after `struct sock_filter`, in host byte order (built once). */
export function seccompProgram(arch: SeccompArch): Buffer {
  let program = programs.get(arch);
  if (!program) programs.set(arch, (program = encode(seccompFilter(arch))));
  return program;
}

function encode(prog: ReturnType<typeof seccompFilter>): Buffer {
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((ins, i) => {
    buf.writeUInt16LE(ins.code, i * 8);
    buf.writeUInt8(ins.jt, i * 8 + 2);
    buf.writeUInt8(ins.jf, i * 8 + 3);
    buf.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return buf;
}

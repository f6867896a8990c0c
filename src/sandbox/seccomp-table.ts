// The system calls a bubblewrap sandbox may not make, with the reason for each. Everything not listed is allowed.
// The list covers every implemented call Docker's default profile (moby profiles/seccomp/default.json) refuses to a
// container without capabilities, and more: ptrace and process_vm_* (Docker allows them on kernels >= 4.8),
// io_uring (older Docker profiles allow it), name_to_handle_at, adjtimex and clock_adjtime. One difference in kind:
// Docker's profile is an allow list, so it also refuses calls newer than itself; this deny list lets a call the
// kernel adds later through until it is listed here (the mount API's newest, open_tree_attr, is).
// Most of these fail anyway without capabilities; the filter takes away the kernel code behind them, which is
// where the escapes are. Numbers: x86_64 from asm/unistd_64.h, aarch64 from the generic table asm-generic/unistd.h
// (null: the call does not exist there).

/** A test on the call's first argument (its low 32 bits, all the kernel reads for these calls). */
export type ArgTest =
  | { kind: 'anyBitOf'; mask: number } // denied when the argument has any of these bits
  | { kind: 'oneOf'; values: number[] } // allowed only for these values
  | { kind: 'equals'; value: number }; // denied for this one value

export interface Denial {
  name: string;
  x64: number | null;
  arm64: number | null;
  why: string;
  /** Without a test the call is always denied. */
  arg0?: ArgTest;
  /** Default EPERM. */
  errno?: 'EPERM' | 'ENOSYS';
}

const d = (name: string, x64: number | null, arm64: number | null, why: string, more: Partial<Denial> = {}): Denial => ({
  name, x64, arm64, why, ...more,
});

/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET. CLONE_NEWTIME (0x80) is part of the exit
 * signal byte in clone()'s flags and only means "new time namespace" to unshare and clone3, both refused. */
export const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;
/** personality() values Docker allows: PER_LINUX, PER_LINUX32, UNAME26 with either, and 0xffffffff (query only).
 * Anything else (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, ...) would weaken the address space layout. */
export const PERSONALITY_ALLOWED = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];
const AF_VSOCK = 40;

export const DENIED: readonly Denial[] = [
  // Reaching into other processes
  d('ptrace', 101, 117, 'controls another process; a traced process can be made to run calls this filter never sees'),
  d('process_vm_readv', 310, 270, "reads another process's memory"),
  d('process_vm_writev', 311, 271, "writes another process's memory"),
  d('kcmp', 312, 272, 'compares kernel objects of two processes (kernel pointer ordering)'),
  d('pidfd_getfd', 438, 438, 'copies a file descriptor out of another process'),
  d('process_madvise', 440, 440, "gives memory advice for another process's pages"),
  // The kernel keyring is not namespaced: keys would be shared with the host user
  d('add_key', 248, 217, 'kernel keyring, shared with the host user'),
  d('request_key', 249, 218, 'kernel keyring, shared with the host user'),
  d('keyctl', 250, 219, 'kernel keyring, shared with the host user'),
  // Large kernel attack surface no agent needs
  d('bpf', 321, 280, 'loads programs into the kernel (verifier bugs)'),
  d('perf_event_open', 298, 241, 'performance counters: side channels and a long line of kernel bugs'),
  d('userfaultfd', 323, 282, 'lets a process pause kernel page faults, the usual tool to win kernel races'),
  d('io_uring_setup', 425, 425, 'a second system call interface that seccomp cannot see into'),
  d('io_uring_enter', 426, 426, 'a second system call interface that seccomp cannot see into'),
  d('io_uring_register', 427, 427, 'a second system call interface that seccomp cannot see into'),
  d('fanotify_init', 300, 262, 'watches file access across a whole filesystem'),
  d('lookup_dcookie', 212, 18, 'kernel profiling interface'),
  // The filesystem view stays as bwrap built it
  d('mount', 165, 40, 'changes the mount tree'),
  d('umount2', 166, 39, 'changes the mount tree (could uncover what a mount hides)'),
  d('pivot_root', 155, 41, 'changes the root mount'),
  d('chroot', 161, 51, 'changes the root directory'),
  d('open_tree', 428, 428, 'new mount API'),
  d('move_mount', 429, 429, 'new mount API'),
  d('fsopen', 430, 430, 'new mount API'),
  d('fsconfig', 431, 431, 'new mount API'),
  d('fsmount', 432, 432, 'new mount API'),
  d('fspick', 433, 433, 'new mount API'),
  d('open_tree_attr', 467, 467, 'new mount API (Linux 6.15)'),
  d('mount_setattr', 442, 442, 'changes mount flags (read-only, ...)'),
  d('name_to_handle_at', 303, 264, 'file handles: the first half of the open-by-handle escape'),
  d('open_by_handle_at', 304, 265, 'opens a file by handle, without a path: escaped containers before (shocker)'),
  d('quotactl', 179, 60, 'filesystem quota administration'),
  d('quotactl_fd', 443, 443, 'filesystem quota administration'),
  // Namespaces: the sandbox may not build new ones (nested user namespaces reach kernel code meant for root)
  d('unshare', 272, 97, 'creates namespaces'),
  d('setns', 308, 268, 'joins namespaces'),
  d('clone', 56, 220, 'only with namespace flags; plain clone (threads, fork) stays allowed', {
    arg0: { kind: 'anyBitOf', mask: CLONE_NAMESPACE_FLAGS },
  }),
  d('clone3', 435, 435, 'its flags sit in memory seccomp cannot read; ENOSYS makes libc fall back to clone', { errno: 'ENOSYS' }),
  // Administration of the machine
  d('kexec_load', 246, 104, 'loads a new kernel'),
  d('kexec_file_load', 320, 294, 'loads a new kernel'),
  d('init_module', 175, 105, 'loads a kernel module'),
  d('finit_module', 313, 273, 'loads a kernel module'),
  d('delete_module', 176, 106, 'unloads a kernel module'),
  d('create_module', 174, null, 'obsolete module call'),
  d('get_kernel_syms', 177, null, 'obsolete module call'),
  d('query_module', 178, null, 'obsolete module call'),
  d('reboot', 169, 142, 'reboots the machine'),
  d('swapon', 167, 224, 'swap administration'),
  d('swapoff', 168, 225, 'swap administration'),
  d('acct', 163, 89, 'process accounting'),
  d('settimeofday', 164, 170, 'sets the clock (not namespaced)'),
  d('clock_settime', 227, 112, 'sets the clock (not namespaced)'),
  d('adjtimex', 159, 171, 'tunes the clock (not namespaced)'),
  d('clock_adjtime', 305, 266, 'tunes the clock (not namespaced)'),
  d('syslog', 103, 116, 'reads the kernel log (kernel addresses)'),
  d('vhangup', 153, 58, 'hangs up the terminal'),
  d('sethostname', 170, 161, 'host name administration'),
  d('setdomainname', 171, 162, 'host name administration'),
  d('nfsservctl', 180, 42, 'removed NFS server interface'),
  d('iopl', 172, null, 'raw I/O port access'),
  d('ioperm', 173, null, 'raw I/O port access'),
  d('uselib', 134, null, 'obsolete a.out loader'),
  d('ustat', 136, null, 'obsolete'),
  d('sysfs', 139, null, 'obsolete'),
  d('_sysctl', 156, null, 'obsolete'),
  // NUMA memory placement: no use in a sandbox, and move_pages/migrate_pages act on other processes
  d('mbind', 237, 235, 'NUMA memory policy'),
  d('set_mempolicy', 238, 237, 'NUMA memory policy'),
  d('get_mempolicy', 239, 236, 'NUMA memory policy'),
  d('set_mempolicy_home_node', 450, 450, 'NUMA memory policy'),
  d('migrate_pages', 256, 238, "moves another process's pages between NUMA nodes"),
  d('move_pages', 279, 239, "moves another process's pages between NUMA nodes"),
  // Argument-dependent
  d('personality', 135, 92, 'only the harmless values (see PERSONALITY_ALLOWED)', { arg0: { kind: 'oneOf', values: PERSONALITY_ALLOWED } }),
  d('socket', 41, 198, 'only AF_VSOCK: it talks to the hypervisor and has no network namespace', { arg0: { kind: 'equals', value: AF_VSOCK } }),
];

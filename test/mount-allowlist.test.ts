// Extra mounts against a real directory tree under a temporary HOME: allowlist loading, roots, blocked names,
// symlinks, protected paths and read-only forcing.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MountRequest } from '../src/groups/group-config.js';
import { blockedBy, DEFAULT_BLOCKED_PATTERNS, loadMountAllowlist, resolveExtraMounts, type MountContext } from '../src/boundary/mount-allowlist.js';

let home: string;
let allowlistFile: string;
const dirs = ['projects/app', 'projects/with-env', 'projects/secret-stuff', 'projects/carapace', 'projects/conf', 'shared/notes', 'ro/books', 'docs', '.ssh', 'data'];

beforeAll(() => {
  home = realpathSync(mkdtempSync(join(tmpdir(), 'carapace-home-')));
  for (const d of dirs) mkdirSync(join(home, d), { recursive: true });
  writeFileSync(join(home, '.ssh', 'id_ed25519'), 'PRIVATE KEY');
  writeFileSync(join(home, 'projects/with-env/.env'), 'ANTHROPIC_API_KEY=sk-leak');
  writeFileSync(join(home, 'projects/app/readme.md'), 'hi');
  symlinkSync(join(home, '.ssh'), join(home, 'projects/innocent'));
  symlinkSync(join(home, 'docs'), join(home, 'projects/docs-link'));
  allowlistFile = join(home, 'projects/conf/mount-allowlist.json');
  writeFileSync(
    allowlistFile,
    JSON.stringify({
      allowedRoots: [
        { path: '~/projects', allowReadWrite: true },
        { path: '~/shared', allowReadWrite: true, nonMainReadWrite: true },
        { path: `${home}/ro`, allowReadWrite: false, description: 'library' },
        { path: '~/does-not-exist' },
      ],
      blockedPatterns: ['secret-stuff'],
    }),
  );
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

function decide(requests: MountRequest[], opts: Partial<MountContext> & { file?: string } = {}) {
  const { allowlist, error } = loadMountAllowlist(opts.file ?? allowlistFile, home);
  return resolveExtraMounts(requests, {
    isMain: false,
    allowlist,
    allowlistError: error,
    home,
    protectedPaths: [join(home, 'data'), allowlistFile],
    readOnlyPaths: [join(home, 'projects/carapace')],
    ...opts,
  });
}
const reasons = (d: ReturnType<typeof decide>) => d.rejected.map((r) => r.reason);

describe('mount allowlist', () => {
  it('mounts nothing without an allowlist file, and says where it looked', () => {
    const d = decide([{ hostPath: '~/projects/app' }], { file: join(home, 'nope.json') });
    expect(d.mounts).toEqual([]);
    expect(reasons(d)).toEqual([`no mount allowlist at ${join(home, 'nope.json')}, so no extra directories are mounted`]);
  });

  it('reports a malformed allowlist instead of guessing', () => {
    const bad = join(home, 'bad.json');
    writeFileSync(bad, JSON.stringify({ allowedRoots: [{ path: '~/projects', allowReadWrite: 'yes' }] }));
    expect(loadMountAllowlist(bad, home).error).toMatch(/malformed[\s\S]*allowReadWrite/);
    writeFileSync(bad, '{ nope');
    expect(loadMountAllowlist(bad, home).error).toMatch(/not valid JSON/);
  });

  it('always keeps the default blocked names, adding the user’s', () => {
    const { allowlist } = loadMountAllowlist(allowlistFile, home);
    expect(allowlist!.blockedPatterns).toEqual([...DEFAULT_BLOCKED_PATTERNS, 'secret-stuff']);
    expect(blockedBy('.env.local', DEFAULT_BLOCKED_PATTERNS)).toBe('.env');
    expect(blockedBy('id_rsa.pub', DEFAULT_BLOCKED_PATTERNS)).toBe('id_rsa');
    expect(blockedBy('server.PEM', DEFAULT_BLOCKED_PATTERNS)).toBe('*.pem');
    expect(blockedBy('environment', DEFAULT_BLOCKED_PATTERNS)).toBeUndefined();
  });

  it('mounts an allowed directory read-only under /workspace/extra by its name', () => {
    const d = decide([{ hostPath: '~/projects/app' }, { hostPath: `${home}/ro/books`, containerPath: 'library' }]);
    expect(d.rejected).toEqual([]);
    expect(d.mounts).toEqual([
      { host: join(home, 'projects/app'), sandbox: '/workspace/extra/app', readonly: true },
      { host: join(home, 'ro/books'), sandbox: '/workspace/extra/library', readonly: true },
    ]);
  });

  it('grants read-write to main where the root allows it, and forces read-only for other groups unless the root says otherwise', () => {
    const rw = (hostPath: string): MountRequest => ({ hostPath, readonly: false });
    const main = decide([rw('~/projects/app'), rw('~/ro/books')], { isMain: true });
    expect(main.mounts.map((m) => m.readonly)).toEqual([false, true]);
    expect(main.downgraded.map((x) => x.reason)).toEqual([`root ${home}/ro is read-only`]);
    const other = decide([rw('~/projects/app'), rw('~/shared/notes')]);
    expect(other.mounts.map((m) => m.readonly)).toEqual([true, false]);
    expect(other.downgraded.map((x) => x.reason)).toEqual([`root ${home}/projects is read-only for groups other than main`]);
  });

  it('never makes the project directory writable, not even for main', () => {
    const d = decide([{ hostPath: '~/projects/carapace', readonly: false }], { isMain: true });
    expect(d.mounts).toEqual([{ host: join(home, 'projects/carapace'), sandbox: '/workspace/extra/carapace', readonly: true }]);
    expect(d.downgraded[0].reason).toMatch(/overlaps the project directory/);
  });

  it('refuses paths outside every root, missing paths and relative paths', () => {
    const d = decide([{ hostPath: '~/docs' }, { hostPath: '~/projects/missing' }, { hostPath: 'projects/app' }]);
    expect(d.mounts).toEqual([]);
    expect(reasons(d)).toEqual([
      `${home}/docs is not under an allowed root of the mount allowlist`,
      `${home}/projects/missing is not an existing directory (ENOENT)`,
      'hostPath must be absolute or start with ~/',
    ]);
  });

  it('resolves symlinks before checking: a link inside a root cannot reach ~/.ssh or a directory outside the roots', () => {
    const d = decide([{ hostPath: '~/projects/innocent' }, { hostPath: '~/projects/docs-link' }, { hostPath: '~/projects/../.ssh', containerPath: 'keys' }]);
    expect(d.mounts).toEqual([]);
    expect(reasons(d)).toEqual([
      `${home}/.ssh matches the blocked pattern ".ssh"`,
      `${home}/docs is not under an allowed root of the mount allowlist`,
      `${home}/.ssh matches the blocked pattern ".ssh"`,
    ]);
  });

  it('refuses a directory whose name is blocked or that directly holds a secret', () => {
    const d = decide([{ hostPath: '~/projects/secret-stuff' }, { hostPath: '~/projects/with-env' }]);
    expect(reasons(d)).toEqual([
      `${home}/projects/secret-stuff matches the blocked pattern "secret-stuff"`,
      `${home}/projects/with-env contains .env, which matches the blocked pattern ".env"`,
    ]);
  });

  it('refuses the whole home, the data directory and anything holding the allowlist file', () => {
    const asRoot = join(home, 'wide.json');
    writeFileSync(asRoot, JSON.stringify({ allowedRoots: [{ path: '/', allowReadWrite: true }] }));
    const d = decide([{ hostPath: '~', containerPath: 'home' }, { hostPath: '~/data' }, { hostPath: '~/projects/conf' }], { file: asRoot });
    expect(d.mounts).toEqual([]);
    expect(reasons(d)).toEqual([
      `${home} would expose the whole home directory`,
      `${home}/data overlaps ${home}/data, which no sandbox may see`,
      `${home}/projects/conf overlaps ${allowlistFile}, which no sandbox may see`,
    ]);
  });

  it('validates container names: one plain name, used once', () => {
    const d = decide([
      { hostPath: '~/projects/app', containerPath: '../escape' },
      { hostPath: '~/projects/app', containerPath: 'a/b' },
      { hostPath: '~/projects/app', containerPath: '..' },
      { hostPath: '~/projects/app', containerPath: 'code' },
      { hostPath: '~/shared/notes', containerPath: 'code' },
    ]);
    expect(d.mounts.map((m) => m.sandbox)).toEqual(['/workspace/extra/code']);
    expect(reasons(d)).toEqual([
      'containerPath "../escape" must be one name of letters, digits, ".", "-" or "_"',
      'containerPath "a/b" must be one name of letters, digits, ".", "-" or "_"',
      'containerPath ".." must be one name of letters, digits, ".", "-" or "_"',
      'containerPath code is used twice',
    ]);
  });
});

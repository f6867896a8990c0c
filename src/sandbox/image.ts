// The agent image (container/Dockerfile) for Docker, Podman and Apple Container: the base image plus the runner's
// compiled code and the packages it imports (see image-closure.ts), copied from the host (npm never runs inside the build, whose TLS may
// be intercepted). Its tag is a hash of every input, so an image is built once per code version and reused.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ImageConfig } from '../config/sandbox-settings.js';
import { runCli, type Cli } from './cli.js';
import { dependencyClosure, runnerFiles, type LockEntry } from './image-closure.js';

export const IMAGE_REPOSITORY = 'carapace-agent';
export { DEFAULT_BASE_IMAGE, type ImageConfig } from '../config/sandbox-settings.js';

/** How an engine builds images and tells whether one exists. */
export interface ImageEngine {
  readonly kind: string;
  readonly cli: Cli;
  buildArgs(tag: string, dockerfile: string, buildArgs: Record<string, string>, context: string): string[];
  imageExists(tag: string): Promise<boolean>;
}

interface Package {
  /** Path relative to the app root, e.g. node_modules/zod or node_modules/a/node_modules/b. */
  dir: string;
  /** npm package name and version (for fetching a platform binary the host does not have). */
  name: string;
  version: string;
  integrity?: string;
}

export interface ImageInputs {
  tag: string;
  buildArgs: Record<string, string>;
  /** Compiled files under dist/src. */
  distFiles: string[];
  packages: Package[];
  /** The SDK's Linux binary package for the image's architecture, when the host has not installed it. */
  fetchPackage?: Package;
}

/** The SDK's native CLI package for a Linux image on this CPU (images run the host's architecture). */
export function sdkPlatformPackage(arch: string = process.arch): string {
  if (arch !== 'x64' && arch !== 'arm64') throw new Error(`no Claude Agent SDK binary for linux-${arch}`);
  return `@anthropic-ai/claude-agent-sdk-linux-${arch}`;
}

/**
 * The installed packages the runner needs (`roots` and their dependency closure in package-lock.json), plus
 * every lock entry by name (for fetching a platform binary the host does not have).
 */
function runnerPackages(appRoot: string, roots: Set<string>): { installed: Package[]; byName: Map<string, Package> } {
  const lockFile = path.join(appRoot, 'package-lock.json');
  if (!fs.existsSync(lockFile)) throw new Error(`${lockFile} is missing: run \`npm install\` first`);
  const lock = (JSON.parse(fs.readFileSync(lockFile, 'utf8')) as { packages?: Record<string, LockEntry> }).packages ?? {};
  const needed = dependencyClosure(lock, roots);
  const byName = new Map<string, Package>();
  const installed: Package[] = [];
  for (const [dir, entry] of Object.entries(lock)) {
    if (!dir.startsWith('node_modules/') || entry.dev) continue;
    const name = entry.name ?? dir.slice(dir.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const pkg = { dir, name, version: entry.version ?? '', integrity: entry.integrity };
    byName.set(name, pkg);
    if (needed.has(dir) && fs.existsSync(path.join(appRoot, dir, 'package.json'))) installed.push(pkg);
  }
  if (installed.length === 0) throw new Error(`no installed packages under ${appRoot}/node_modules: run \`npm ci\` first`);
  return { installed, byName };
}

/**
 * Everything the image is made of, and its tag. node_modules is identified through the lock file's integrity
 * hashes (npm ci installs exactly those) rather than by reading hundreds of MB on every start.
 */
export function agentImageInputs(appRoot: string, cfg: ImageConfig, arch: string = process.arch): ImageInputs {
  const dist = path.join(appRoot, 'dist', 'src');
  if (!fs.existsSync(path.join(dist, 'runner', 'main.js')))
    throw new Error(`${dist}/runner/main.js is missing: run \`npm run build\` first (TypeScript is never compiled in the image)`);
  const { files: distFiles, packages: roots } = runnerFiles(dist);
  const { installed, byName } = runnerPackages(appRoot, roots);
  const platform = sdkPlatformPackage(arch);
  // The host may have another platform's binary (macOS); the image needs Linux glibc for its own CPU.
  const packages = installed.filter((p) => !p.name.startsWith('@anthropic-ai/claude-agent-sdk-') || p.name === platform);
  let fetchPackage: Package | undefined;
  if (!packages.some((p) => p.name === platform)) {
    fetchPackage = byName.get(platform);
    if (!fetchPackage) throw new Error(`package-lock.json does not list ${platform}; the agent image cannot get its CLI binary`);
  }
  const buildArgs = { BASE_IMAGE: cfg.base, WITH_CHROMIUM: cfg.chromium ? '1' : '0' };
  const h = createHash('sha256');
  const add = (label: string, data: string | Buffer) => h.update(`${label}\0${data.length}\0`).update(data);
  add('dockerfile', fs.readFileSync(path.join(appRoot, 'container', 'Dockerfile')));
  add('args', JSON.stringify(buildArgs));
  add('arch', arch);
  add('package.json', fs.readFileSync(path.join(appRoot, 'package.json')));
  for (const f of distFiles) add(`dist/${f}`, fs.readFileSync(path.join(dist, f)));
  for (const p of [...packages, ...(fetchPackage ? [fetchPackage] : [])]) add(p.dir, `${p.version} ${p.integrity ?? ''}`);
  return { tag: `${IMAGE_REPOSITORY}:${h.digest('hex').slice(0, 16)}`, buildArgs, distFiles, packages, fetchPackage };
}

/** Hard-link (or copy, across filesystems) a file or symlink. */
function place(from: string, to: string): number {
  const st = fs.lstatSync(from);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), to);
  else {
    try {
      fs.linkSync(from, to);
    } catch {
      fs.copyFileSync(from, to);
    }
  }
  return st.size;
}

/** Copy a package without its nested node_modules (nested packages are lock entries of their own). */
function placePackage(from: string, to: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    if (e.name === 'node_modules') continue;
    const [src, dst] = [path.join(from, e.name), path.join(to, e.name)];
    if (e.isDirectory()) {
      const sub = placePackage(src, dst);
      bytes += sub.bytes;
      files += sub.files;
    } else {
      bytes += place(src, dst);
      files++;
    }
  }
  return { bytes, files };
}

/** Download a package tarball with npm (its cache makes a second time free) and unpack it at `to`. */
async function fetchPackage(pkg: Package, to: string): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'carapace-pack-'));
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const packed = await runCli({ bin: npm, env: process.env }, ['pack', `${pkg.name}@${pkg.version}`, '--pack-destination', tmp, '--silent'], 600_000);
    if (packed.code !== 0) throw new Error(`npm pack ${pkg.name}@${pkg.version} failed: ${packed.stderr.trim()}`);
    const tarball = path.join(tmp, packed.stdout.trim().split('\n').at(-1)!);
    fs.mkdirSync(to, { recursive: true });
    const untar = await runCli({ bin: 'tar', env: process.env }, ['-xzf', tarball, '-C', to, '--strip-components=1'], 600_000);
    if (untar.code !== 0) throw new Error(`unpacking ${tarball} failed: ${untar.stderr.trim()}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Lay out the build context: Dockerfile, app/package.json, app/dist/src, app/node_modules (production only). */
export async function stageBuildContext(appRoot: string, inputs: ImageInputs, dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = place(path.join(appRoot, 'container', 'Dockerfile'), path.join(dir, 'Dockerfile'));
  let files = 1;
  const app = path.join(dir, 'app');
  bytes += place(path.join(appRoot, 'package.json'), path.join(app, 'package.json'));
  for (const f of inputs.distFiles) bytes += place(path.join(appRoot, 'dist', 'src', f), path.join(app, 'dist', 'src', f));
  files += 1 + inputs.distFiles.length;
  for (const p of inputs.packages) {
    const n = placePackage(path.join(appRoot, p.dir), path.join(app, p.dir));
    bytes += n.bytes;
    files += n.files;
  }
  if (inputs.fetchPackage) await fetchPackage(inputs.fetchPackage, path.join(app, inputs.fetchPackage.dir));
  return { bytes, files };
}

/** Why an image cannot be built: its base is not on this machine, and a build never pulls one from a registry. */
export function baseImageMissing(kind: string, base: string): string {
  return (
    `the base image ${base} is not on this machine, and Carapace never pulls from a registry. ` +
    `Pull it yourself (\`${kind} pull ${base}\`), or build one offline with container/build-base.sh and set CARAPACE_BASE_IMAGE.`
  );
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Turns a build's output into progress lines that say how long each Dockerfile step took. docker's classic
 * builder prints "Step 2/9 : …", podman and buildah "STEP 2/9: …"; BuildKit's plain output times steps itself.
 */
export class StepTimer {
  private current?: { label: string; since: number };
  constructor(
    private readonly emit: (line: string) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  line(text: string): void {
    const step = /^(?:Step|STEP) (\d+\/\d+) ?:/.exec(text);
    if (step) {
      this.finish();
      this.current = { label: step[1], since: this.now() };
    }
    this.emit(`    ${text}`);
  }

  /** Close the step in progress (call at the end of the build). */
  finish(): void {
    if (this.current) this.emit(`    ↳ step ${this.current.label} took ${seconds(this.now() - this.current.since)}`);
    this.current = undefined;
  }
}

/** Run a build command, feeding its output lines (stdout and stderr) to `onLine`. Rejects on failure. */
function streamBuild(cli: Cli, args: string[], onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli.bin, args, { env: cli.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream.on('data', (chunk: Buffer) => {
        const lines = (rest + chunk.toString()).split(/\r?\n/);
        rest = lines.pop() ?? '';
        for (const l of lines) if (l.trim()) {
          tail.push(l);
          if (tail.length > 20) tail.shift();
          onLine(l);
        }
      });
    }
    child.on('error', (e) => reject(new Error(`${cli.bin} build could not run: ${e.message}`)));
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cli.bin} build failed (exit ${code}):\n${tail.join('\n')}`)),
    );
  });
}

/**
 * Make sure the agent image for the current code exists; build it when it does not (or when `force`).
 * Progress goes to `onProgress`, one line at a time, with the time each phase and step took.
 */
export async function ensureAgentImage(
  engine: ImageEngine,
  appRoot: string,
  cfg: ImageConfig,
  onProgress: (line: string) => void = () => {},
  force = false,
): Promise<{ tag: string; built: boolean }> {
  const t0 = performance.now();
  const inputs = agentImageInputs(appRoot, cfg);
  if (!force && (await engine.imageExists(inputs.tag))) return { tag: inputs.tag, built: false };
  if (!(await engine.imageExists(cfg.base))) throw new Error(baseImageMissing(engine.kind, cfg.base));

  onProgress(`Building agent image ${inputs.tag} with ${engine.kind} (base ${cfg.base}${cfg.chromium ? ', with Chromium' : ''})`);
  onProgress(`[1/3] inputs: ${inputs.distFiles.length} compiled files, ${inputs.packages.length} production packages … ${seconds(performance.now() - t0)}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carapace-image-'));
  try {
    let t = performance.now();
    const staged = await stageBuildContext(appRoot, inputs, dir);
    const fetched = inputs.fetchPackage ? ` (fetched ${inputs.fetchPackage.name} from npm)` : '';
    onProgress(`[2/3] build context: ${(staged.bytes / 2 ** 20).toFixed(0)} MB in ${staged.files} files${fetched} … ${seconds(performance.now() - t)}`);
    t = performance.now();
    onProgress(`[3/3] ${engine.kind} build`);
    const steps = new StepTimer(onProgress);
    await streamBuild(engine.cli, engine.buildArgs(inputs.tag, path.join(dir, 'Dockerfile'), inputs.buildArgs, dir), (l) => steps.line(l));
    steps.finish();
    onProgress(`[3/3] ${engine.kind} build … ${seconds(performance.now() - t)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  onProgress(`Built ${inputs.tag} in ${seconds(performance.now() - t0)}`);
  return { tag: inputs.tag, built: true };
}

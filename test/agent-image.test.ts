// The agent image's inputs, tag and build context (on a small stand-in project), its progress reporting, and the
// real `carapace image build` against docker when docker is here (CI requires it).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { APP_ROOT } from '../src/app-root.js';
import { agentImageInputs, stageBuildContext, StepTimer } from '../src/sandbox/image.js';
import { DockerRuntime } from '../src/sandbox/docker.js';
import { dockerRequired, testImageConfig, usableForTests } from './support/usable-engines.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'carapace-image-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const cfg = { base: 'node:20-bookworm-slim', chromium: false };

let app: string;
const write = (rel: string, content: string) => {
  fs.mkdirSync(path.dirname(path.join(app, rel)), { recursive: true });
  fs.writeFileSync(path.join(app, rel), content);
};
const pkg = (dir: string, name: string) => write(`${dir}/package.json`, JSON.stringify({ name, version: '1.0.0' }));

beforeEach(() => {
  app = fs.mkdtempSync(path.join(tmp, 'app-'));
  write('container/Dockerfile', 'FROM scratch\n');
  write('package.json', '{"name":"carapace","type":"module"}');
  write('dist/src/runner/main.js', "import { query } from '@anthropic-ai/claude-agent-sdk';\nimport '../ipc/protocol.js';\nconsole.log(1)\n");
  write('dist/src/ipc/protocol.js', "export { z } from 'zod';\n");
  write('dist/src/channels/telegram.js', "import 'grammy';\n"); // the orchestrator's, not the runner's
  write('dist/test/support/harness.js', 'not for the image\n');
  const packages: Record<string, object> = {
    '': { name: 'carapace' },
    'node_modules/zod': { version: '4.0.0', integrity: 'sha512-zod', dependencies: { inner: '^1' } },
    'node_modules/grammy': { version: '1.0.0', integrity: 'sha512-grammy' },
    'node_modules/zod/node_modules/inner': { version: '1.0.0', integrity: 'sha512-inner' },
    'node_modules/vitest': { version: '4.0.0', integrity: 'sha512-vitest', dev: true },
    'node_modules/@anthropic-ai/claude-agent-sdk': {
      version: '0.3.330',
      integrity: 'sha512-sdk',
      optionalDependencies: Object.fromEntries(['linux-x64', 'linux-arm64', 'darwin-arm64'].map((p) => [`@anthropic-ai/claude-agent-sdk-${p}`, '0.3.330'])),
      peerDependencies: { zod: '^4' },
    },
    'node_modules/@anthropic-ai/claude-agent-sdk-linux-x64': { version: '0.3.330', integrity: 'sha512-x64', optional: true },
    'node_modules/@anthropic-ai/claude-agent-sdk-linux-arm64': { version: '0.3.330', integrity: 'sha512-arm64', optional: true },
    'node_modules/@anthropic-ai/claude-agent-sdk-darwin-arm64': { version: '0.3.330', integrity: 'sha512-darwin', optional: true },
  };
  write('package-lock.json', JSON.stringify({ lockfileVersion: 3, packages }));
  pkg('node_modules/zod', 'zod');
  write('node_modules/zod/index.js', 'zod');
  pkg('node_modules/zod/node_modules/inner', 'inner');
  pkg('node_modules/vitest', 'vitest');
  pkg('node_modules/grammy', 'grammy');
  pkg('node_modules/@anthropic-ai/claude-agent-sdk', '@anthropic-ai/claude-agent-sdk');
  pkg('node_modules/@anthropic-ai/claude-agent-sdk-linux-x64', '@anthropic-ai/claude-agent-sdk-linux-x64');
  write('node_modules/@anthropic-ai/claude-agent-sdk-linux-x64/claude', 'binary');
  pkg('node_modules/@anthropic-ai/claude-agent-sdk-darwin-arm64', '@anthropic-ai/claude-agent-sdk-darwin-arm64');
  write('node_modules/.bin/vitest', 'dev tool');
});

describe('agent image inputs', () => {
  it('are stable, and the tag changes with the code, the Dockerfile, the base, the options and the dependencies', () => {
    const tag = () => agentImageInputs(app, cfg, 'x64').tag;
    const first = tag();
    expect(first).toMatch(/^carapace-agent:[0-9a-f]{16}$/);
    expect(tag()).toBe(first);
    write('dist/test/support/harness.js', 'changed, but not part of the image');
    write('dist/src/channels/telegram.js', "import 'grammy';\n// the runner never imports this\n");
    expect(tag()).toBe(first);
    const changes: [string, () => string][] = [
      ['code', () => (write('dist/src/ipc/protocol.js', "export { z } from 'zod';\nexport const v = 2;\n"), tag())],
      ['Dockerfile', () => (write('container/Dockerfile', 'FROM scratch\nUSER 1000\n'), tag())],
      ['base', () => agentImageInputs(app, { ...cfg, base: 'carapace-base:bookworm' }, 'x64').tag],
      ['chromium', () => agentImageInputs(app, { ...cfg, chromium: true }, 'x64').tag],
      ['lock', () => (write('package-lock.json', fs.readFileSync(path.join(app, 'package-lock.json'), 'utf8').replace('sha512-zod', 'sha512-zod2')), tag())],
    ];
    const seen = new Set([first]);
    for (const [what, change] of changes) {
      const t = change();
      expect(seen.has(t), `${what} changed the tag`).toBe(false);
      seen.add(t);
    }
  });

  it('take only the packages the runner imports (and their dependencies), and the SDK binary for the image’s own Linux CPU', () => {
    const x64 = agentImageInputs(app, cfg, 'x64');
    expect(x64.packages.map((p) => p.dir).sort()).toEqual([
      'node_modules/@anthropic-ai/claude-agent-sdk',
      'node_modules/@anthropic-ai/claude-agent-sdk-linux-x64',
      'node_modules/zod',
      'node_modules/zod/node_modules/inner',
    ]);
    expect(x64.fetchPackage).toBeUndefined();
    // A Mac has the darwin binary installed; its arm64 Linux image needs the linux one, fetched from npm.
    const arm = agentImageInputs(app, cfg, 'arm64');
    expect(arm.fetchPackage).toMatchObject({ name: '@anthropic-ai/claude-agent-sdk-linux-arm64', version: '0.3.330' });
    expect(arm.packages.map((p) => p.name)).not.toContain('@anthropic-ai/claude-agent-sdk-darwin-arm64');
  });

  it('refuse to go on without compiled code or installed packages, saying what to run', () => {
    fs.rmSync(path.join(app, 'dist'), { recursive: true });
    expect(() => agentImageInputs(app, cfg, 'x64')).toThrow(/npm run build/);
  });

  it('stage a build context with the Dockerfile, package.json, dist/src and production node_modules (hard links)', async () => {
    const inputs = agentImageInputs(app, cfg, 'x64');
    const ctx = path.join(tmp, `ctx-${path.basename(app)}`);
    const staged = await stageBuildContext(app, inputs, ctx);
    const files = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.relative(ctx, path.join(dir, e.name))]));
    expect(files(ctx).sort()).toEqual([
      'Dockerfile',
      'app/dist/src/ipc/protocol.js',
      'app/dist/src/runner/main.js',
      'app/node_modules/@anthropic-ai/claude-agent-sdk-linux-x64/claude',
      'app/node_modules/@anthropic-ai/claude-agent-sdk-linux-x64/package.json',
      'app/node_modules/@anthropic-ai/claude-agent-sdk/package.json',
      'app/node_modules/zod/index.js',
      'app/node_modules/zod/node_modules/inner/package.json',
      'app/node_modules/zod/package.json',
      'app/package.json',
    ]);
    expect(staged.files).toBe(10);
    expect(fs.statSync(path.join(ctx, 'app/node_modules/zod/index.js')).ino).toBe(fs.statSync(path.join(app, 'node_modules/zod/index.js')).ino);
  });
});

describe('build progress', () => {
  it('says how long each Dockerfile step took (docker and podman step lines)', () => {
    let now = 0;
    const lines: string[] = [];
    const t = new StepTimer((l) => lines.push(l), () => now);
    t.line('Step 1/3 : FROM base');
    now = 1200;
    t.line(' ---> abc');
    t.line('STEP 2/3: COPY app/node_modules /app/node_modules');
    now = 9700;
    t.line('Step 3/3 : CMD ["node"]');
    now = 9800;
    t.finish();
    expect(lines).toEqual([
      '    Step 1/3 : FROM base',
      '     ---> abc',
      '    ↳ step 1/3 took 1.2 s',
      '    STEP 2/3: COPY app/node_modules /app/node_modules',
      '    ↳ step 2/3 took 8.5 s',
      '    Step 3/3 : CMD ["node"]',
      '    ↳ step 3/3 took 0.1 s',
    ]);
  });
});

const docker = new DockerRuntime({ stateDir: tmp, image: testImageConfig });
const usable = await usableForTests(docker);
if (!usable.ok) console.warn(`[agent-image] docker left out on this machine: ${usable.reason}`);
const dockerHere = usable.ok || dockerRequired;

describe.runIf(dockerHere)('carapace image build (real docker)', () => {
  const cli = (args: string[]) =>
    promisify(execFile)(process.execPath, [path.join(APP_ROOT, 'bin/carapace.js'), ...args], {
      env: { ...process.env, CARAPACE_RUNTIME: 'docker', CARAPACE_DATA_DIR: path.join(tmp, 'data') },
    });

  it('builds the image for the current code once; the next call finds it up to date', async () => {
    await cli(['image', 'build']); // builds, or finds it built by CI or the conformance suite
    const again = await cli(['image', 'build']);
    expect(again.stdout).toMatch(/^carapace-agent:[0-9a-f]{16} is up to date/);
    expect(again.stderr).toBe('');
  }, 900_000);
});

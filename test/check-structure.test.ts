// The structure checker on small trees written for each rule: it must find exactly what was planted.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkStructure, formatReport, runCheck } from '../scripts/check-structure.js';
import { layerOf } from '../scripts/structure/rules.js';

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

/** A repository holding exactly `files` (path → source). */
function tree(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), 'structure-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** A function of `lines` lines in total (signature and closing brace included). */
const fn = (name: string, lines: number) => `export function ${name}(): number {\n${'  let x = 1;\n'.repeat(lines - 3)}  return 1;\n}\n`;

/** A body with enough statements and lines to count as a copy when repeated under other names. */
const worker = (name: string, word: string, n: number) => `export function ${name}(items: string[]): number {
  let total = ${n};
  for (const item of items) {
    if (item === '${word}') total += item.length;
    else total -= ${n};
  }
  return total;
}
`;

const clean = {
  'src/log.ts': `export const log = (m: string) => m;\n`,
  'src/config.ts': `import { log } from './log.js';\nexport const config = log('c');\n`,
  'src/core/run.ts': `import type { log } from '../log.js';\nimport { config } from '../config.js';\nexport const run: typeof log = () => config;\n`,
  'src/channels/channel.ts': `export interface Channel { name: string }\n`,
  'src/channels/local/local.ts': `import type { Channel } from '../channel.js';\nexport const local: Channel = { name: 'local' };\n`,
};

describe('check:structure', () => {
  it('passes a tree that keeps every rule, and says so', () => {
    const r = checkStructure(tree(clean));
    expect(r).toMatchObject({ files: 5, ok: true, cycles: [], backArrows: [], copies: [], longFiles: [], longFunctions: [], onePlace: [], unlayered: [] });
    expect(formatReport(r)).toMatch(/Structure check passed\.$/);
    expect(runCheck(['--root', root!]).code).toBe(0);
  });

  it('finds an import cycle, type-only imports included, as one closed path', () => {
    const r = checkStructure(tree({
      ...clean,
      'src/store/a.ts': `import type { B } from './b.js';\nexport type A = { b?: B };\n`,
      'src/store/b.ts': `import { c } from './c.js';\nexport type B = number;\nexport const b = c;\n`,
      'src/store/c.ts': `import type { A } from './a.js';\nexport const c: A = {};\n`,
    }));
    expect(r.cycles).toEqual([['src/store/a.ts', 'src/store/b.ts', 'src/store/c.ts', 'src/store/a.ts']]);
    expect(r.ok).toBe(false);
    expect(formatReport(r)).toContain('src/store/a.ts → src/store/b.ts → src/store/c.ts → src/store/a.ts');
  });

  it('reports an import from a higher layer with file:line; the most specific prefix decides the layer', () => {
    expect([layerOf('src/channels/channel.ts'), layerOf('src/channels/whatsapp/jid.ts'), layerOf('src/fs/paths.ts')]).toEqual([3, 6, 1]);
    const r = checkStructure(tree({
      ...clean,
      'src/store/store.ts': `export const x = 1;\n\nimport type { run } from '../core/run.js';\nexport type R = typeof run;\n`,
      'src/channels/channel.ts': `import { local } from './local/local.js';\nexport interface Channel { name: string }\nexport const l = local;\n`,
    }));
    expect(r.backArrows).toEqual([
      { from: 'src/channels/channel.ts', line: 1, to: 'src/channels/local/local.ts', why: 'layer 3 imports layer 6' },
      { from: 'src/store/store.ts', line: 3, to: 'src/core/run.ts', why: 'layer 3 imports layer 5 (type only)' },
    ]);
    expect(formatReport(r)).toContain('src/store/store.ts:3 imports src/core/run.ts: layer 3 imports layer 5 (type only)');
  });

  it('keeps the sandbox runner, and all it reaches, to src/ipc and src/fs', () => {
    const r = checkStructure(tree({
      ...clean,
      'src/runner/main.ts': `import { frame } from '../ipc/protocol.js';\nimport { log } from '../log.js';\nexport const m = [frame, log];\n`,
      'src/ipc/protocol.ts': `import { config } from '../config.js';\nexport const frame = config;\n`,
    }));
    expect(r.backArrows.map((a) => `${a.from}:${a.line} ${a.to}`)).toEqual(['src/runner/main.ts:2 src/log.ts', 'src/ipc/protocol.ts:1 src/config.ts']);
  });

  it('names files that belong to no layer', () => {
    const r = checkStructure(tree({ ...clean, 'src/newroom/thing.ts': `export const t = 1;\n` }));
    expect(r.unlayered).toEqual(['src/newroom/thing.ts']);
    expect(r.ok).toBe(false);
  });

  it('measures files and functions in src and bench; test/support is exempt', () => {
    const r = checkStructure(tree({
      ...clean,
      'src/core/long.ts': fn('short', 60) + fn('tooLong', 61) + `export const handler = [1].map(() => {\n${'  void 0;\n'.repeat(70)}});\n`,
      'src/core/klass.ts': `export class K {\n  field = () => {\n${'    void 0;\n'.repeat(60)}  };\n}\n`,
      'bench/big.ts': `export const n = 1;\n`.repeat(401),
      'test/support/fixtures.ts': fn('bigFixture', 200) + `export const n = 1;\n`.repeat(400),
    }));
    expect(r.longFiles.map((f) => [f.file, f.lines])).toEqual([['bench/big.ts', 401]]);
    expect(r.longFunctions.map((f) => `${f.file}:${f.line} ${f.name} ${f.lines}`)).toEqual([
      'src/core/long.ts:122 <callback> 72',
      'src/core/klass.ts:2 K.field 62',
      'src/core/long.ts:61 tooLong 61',
    ]);
    expect(r.longestFunction?.lines).toBe(72);
    expect(formatReport(r)).toMatch(/FAIL longest function   <callback> src\/core\/long.ts:122 72 lines \(limit 60; 3 over\)/);
  });

  it('reports functions that are the same code under other names, once per copied outer function', () => {
    const twice = (name: string) => `export class ${name} {\n  run(items: string[]) {\n    const inner = ${worker('x', 'a', 1).replace('export function x', 'function')};\n    return inner(items);\n  }\n}\n`;
    const r = checkStructure(tree({
      ...clean,
      'src/store/sum.ts': worker('sumA', 'apple', 3),
      'src/queue/sum.ts': worker('tally', 'pear', 7),
      'src/tasks/small.ts': `export function a(x: number) {\n  return x + 1;\n}\nexport function b(y: number) {\n  return y + 2;\n}\n`,
      'src/memory/one.ts': twice('One'),
      'src/memory/two.ts': twice('Two'),
    }));
    expect(r.copies).toEqual([
      [{ file: 'src/memory/one.ts', line: 2, name: 'One.run' }, { file: 'src/memory/two.ts', line: 2, name: 'Two.run' }],
      [{ file: 'src/queue/sum.ts', line: 1, name: 'tally' }, { file: 'src/store/sum.ts', line: 1, name: 'sumA' }],
    ]);
    expect(formatReport(r)).toContain('copies             2 pairs in 2 groups');
  });

  it('allows each one-place idea in one src module only; importing it is not using it', () => {
    const compare = `import { timingSafeEqual } from 'node:crypto';\nexport const eq = (a: Buffer, b: Buffer) => timingSafeEqual(a, b);\n`;
    const r = checkStructure(tree({
      ...clean,
      'src/boundary/a.ts': compare,
      'src/cli/b.ts': `import * as crypto from 'node:crypto';\nexport const eq = (a: Buffer, b: Buffer) => crypto.timingSafeEqual(a, b);\n`,
      'src/time.ts': `export const f = new Intl.DateTimeFormat('en', { timeZone: 'UTC' });\n`,
      'bench/tz.ts': `export const g = new Intl.DateTimeFormat('en');\n`,
      'src/ops/unused.ts': `import { timingSafeEqual } from 'node:crypto';\nexport type T = typeof timingSafeEqual;\n`,
    }));
    expect(r.onePlace).toEqual([
      {
        name: 'timingSafeEqual',
        why: 'secret comparison in constant time',
        uses: [{ file: 'src/boundary/a.ts', line: 2, name: 'timingSafeEqual' }, { file: 'src/cli/b.ts', line: 2, name: 'timingSafeEqual' }, { file: 'src/ops/unused.ts', line: 2, name: 'timingSafeEqual' }],
      },
    ]);
  });

  it('prints JSON with --json and exits 1 when a limit is broken', () => {
    tree({ ...clean, 'src/log.ts': `import { config } from './config.js';\nexport const log = (m: string) => m + config;\n` });
    const { code, output } = runCheck(['--json', '--root', root!]);
    expect(code).toBe(1);
    const json = JSON.parse(output);
    expect(json.ok).toBe(false);
    expect(json.cycles).toEqual([['src/config.ts', 'src/log.ts', 'src/config.ts']]);
    expect(json.backArrows).toEqual([{ from: 'src/log.ts', line: 1, to: 'src/config.ts', why: 'layer 1 imports layer 2' }]);
  });
});

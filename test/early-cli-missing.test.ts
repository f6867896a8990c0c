// Without a Claude Code binary to start early (an unsupported platform, a broken install), the runner starts
// nothing early and leaves the SDK to spawn, and to explain a missing binary, as it would on its own.
import { afterEach, expect, it, vi } from 'vitest';
import type { StartRequest } from '../src/ipc/protocol.js';

vi.mock('node:module', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:module')>();
  const createRequire = (url: string | URL) => {
    const require = real.createRequire(url);
    const resolve = (id: string) => {
      if (id.startsWith('@anthropic-ai/claude-agent-sdk-')) throw new Error(`Cannot find module '${id}'`);
      return require.resolve(id);
    };
    return Object.assign((id: string) => require(id), require, { resolve });
  };
  return { ...real, default: { ...real, createRequire }, createRequire };
});

afterEach(() => vi.restoreAllMocks());

it('no binary: nothing is started early, and the SDK gets exactly the process it asks for', async () => {
  const { startEarlyCli } = await import('../src/runner/early-cli.js');
  const complaints = vi.spyOn(console, 'error').mockImplementation(() => {});
  const start = { model: 'claude-test-model', authMode: 'apiKey', proxyToken: 't', timeZone: 'UTC', cliEnv: {} } as unknown as StartRequest;
  const early = startEarlyCli(start, 'http://127.0.0.1:9');
  expect(early.executable).toBeUndefined(); // the SDK picks its own binary, and says so if there is none
  expect(complaints).toHaveBeenCalledWith(expect.stringMatching(/^Claude Code was not started early: Cannot find module '@anthropic-ai\/claude-agent-sdk-/));

  const child = early.spawn({ command: '/bin/sh', args: ['-c', 'echo asked-for'], cwd: '/', env: { PATH: '/usr/bin:/bin' } });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
  expect(out).toBe('asked-for\n');
  expect(complaints).toHaveBeenCalledTimes(1); // no "not used" complaint: there was no early process
});

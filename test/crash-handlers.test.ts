// The last-resort handlers `carapace start` installs: a real bug (an unhandled rejection, an uncaught exception)
// is logged with its context and the process exits non-zero, instead of dying silently or serving on broken.
// Runs the built module (npm run build) in a child process, as the CLI does.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_ROOT } from '../src/app-root.js';

function crash(trigger: string) {
  const log = join(APP_ROOT, 'dist/src/log.js');
  const script = `import { createLogger, installCrashHandlers } from ${JSON.stringify(log)};
    installCrashHandlers(createLogger('info'));
    setTimeout(() => console.log('still running'), 500);
    ${trigger}`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  const fatal = child.stdout.split('\n').filter(Boolean).map((l) => (l.startsWith('{') ? JSON.parse(l) : { text: l }));
  return { status: child.status, lines: fatal };
}

describe('installCrashHandlers', () => {
  it('logs an unhandled rejection with its error and exits 1', () => {
    const { status, lines } = crash(`Promise.reject(new Error('boom in a void promise'));`);
    expect(status).toBe(1);
    expect(lines).toHaveLength(1); // it did not serve on
    expect(lines[0]).toMatchObject({ level: 60, msg: 'unhandled promise rejection (a bug in Carapace); exiting' });
    expect(lines[0].err.message).toBe('boom in a void promise');
    expect(lines[0].err.stack).toContain('Error: boom in a void promise');
  });

  it('logs an uncaught exception with its origin and exits 1', () => {
    const { status, lines } = crash(`setImmediate(() => { throw new TypeError('boom in a callback'); });`);
    expect(status).toBe(1);
    expect(lines[0]).toMatchObject({ level: 60, origin: 'uncaughtException', msg: 'uncaught exception (a bug in Carapace); exiting' });
    expect(lines[0].err.type).toBe('TypeError');
  });
});

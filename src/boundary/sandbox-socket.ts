import { chmodSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';

/**
 * Serve a host proxy on a Unix socket that gets mounted into one sandbox. Any uid may connect (the sandbox runs
 * as another user); what the proxy checks on each request is what protects it. `close` also drops open
 * connections, after `beforeClose` has torn down whatever else the proxy holds.
 */
export async function listenForSandbox(server: Server, socketPath: string, beforeClose?: () => void): Promise<{ close(): Promise<void> }> {
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  chmodSync(socketPath, 0o666);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        beforeClose?.();
        server.closeAllConnections();
        server.close(() => resolve());
        rmSync(socketPath, { force: true });
      }),
  };
}

import { createServer, connect } from 'node:net';

/**
 * The sandbox has no network, only loopback. A client (the SDK, curl…) talks to a loopback port; each
 * connection is spliced onto a Unix socket mounted from the host (the model proxy, the egress proxy), which is
 * the only way out.
 */
export async function startSocketBridge(socketPath: string): Promise<{ url: string; close(): void }> {
  const server = createServer((client) => {
    const upstream = connect(socketPath);
    client.pipe(upstream).pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

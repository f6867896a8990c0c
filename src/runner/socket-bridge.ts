import { createServer, connect } from 'node:net';

/**
 * The sandbox has no network, only loopback. A client (the SDK, curl…) talks to a loopback port; each
 * connection is spliced onto a Unix socket mounted from the host (the model proxy, the egress proxy), which is
 * the only way out.
 */
export async function startSocketBridge(socketPath: string): Promise<{ url: string; close(): void }> {
  // No Nagle: a response's last small chunk must not wait for the client's delayed ACK (~40 ms per turn).
  const server = createServer({ noDelay: true }, (client) => {
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

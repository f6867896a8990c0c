// Files shared with the bot are downloaded with the bot token (Slack's file links need it) into the chat's group
// folder under media/. The token goes only to Slack's own file host (or the configured API's, in tests); the size
// is capped before and during the download; the name is ours. The save goes through the folder's safe path.
import type { GroupFolder } from '../channel.js';

export interface SlackFile {
  id?: string;
  name?: string;
  size?: number;
  mode?: string;
  url_private_download?: string;
  url_private?: string;
}

export type SavedFile = { ok: true; sandboxPath: string } | { ok: false; reason: string; refused?: boolean };

const formatMb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 2 : 0)} MB`;

/** media/<date>-<file id>-<name>: letters, digits, "." "-" "_" only, no leading dot, bounded. */
export function mediaName(file: SlackFile, timestamp: number): string {
  const id = (file.id ?? 'file').replace(/[^A-Za-z0-9]/g, '').slice(0, 24) || 'file';
  const name = (file.name ?? '').normalize('NFKD').replace(/[^\w.-]+/g, '_').replace(/\.{2,}/g, '_').replace(/^[._]+/, '').slice(-80);
  return `${new Date(timestamp).toISOString().slice(0, 10)}-${id}${name ? `-${name}` : ''}`;
}

/** Whether the bot token may be sent to `url`: Slack's file host, or where the API itself is. */
function trustedFileUrl(url: string, apiUrl: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'https:' && u.hostname === 'files.slack.com') || u.origin === new URL(apiUrl).origin;
  } catch {
    return false;
  }
}

export async function saveFile(
  file: SlackFile,
  timestamp: number,
  folder: GroupFolder,
  opts: { botToken: string; apiUrl: string; maxBytes: number },
): Promise<SavedFile> {
  const url = file.url_private_download ?? file.url_private;
  if (!url || file.mode === 'external' || file.mode === 'tombstone') return { ok: false, reason: 'is not a file Slack holds' };
  if (!trustedFileUrl(url, opts.apiUrl)) return { ok: false, reason: 'is not on Slack’s file host' };
  if ((file.size ?? 0) > opts.maxBytes) return { ok: false, reason: `is too large (${formatMb(file.size!)}; the limit is ${formatMb(opts.maxBytes)})` };
  let data: Buffer;
  try {
    // No redirects: a redirect elsewhere would carry the token away (and Slack's answer to a bad token is one).
    const res = await fetch(url, { headers: { authorization: `Bearer ${opts.botToken}` }, redirect: 'manual' });
    if (res.status !== 200 || !res.body) throw new Error(`HTTP ${res.status}`);
    data = await readCapped(res.body, opts.maxBytes);
  } catch (err) {
    return { ok: false, reason: `could not be downloaded: ${(err as Error).message}` };
  }
  const name = mediaName(file, timestamp);
  try {
    folder.save(`media/${name}`, data);
  } catch (err) {
    return { ok: false, reason: `could not be saved: ${(err as Error).message}`, refused: true };
  }
  return { ok: true, sandboxPath: `${folder.sandboxPath}/media/${name}` };
}

/** The whole body, or an error as soon as more than `maxBytes` arrived (the declared size can lie). */
async function readCapped(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    if (bytes > maxBytes) throw new Error(`larger than the ${formatMb(maxBytes)} limit`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

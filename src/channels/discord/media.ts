// Attachments of registered chats are downloaded into the group folder under media/, so the agent can open them.
// The size Discord declares is checked first and the download is cut off at the cap (a declared size can lie);
// names are ours (date, message id, a cleaned copy of the file's name). Saved through the folder's safe path:
// whatever the agent planted under media/ makes the save fail with a reason, never written through.
import type { GroupFolder } from '../channel.js';

export interface AttachmentLike {
  id: string;
  name: string;
  url: string;
  size: number;
  contentType: string | null;
}

export type SavedAttachment = { ok: true; line: string } | { ok: false; line: string; refused: boolean };

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 2 : 0)} MB`;

/** Letters, digits, ".", "-" and "_"; no leading dot, no ".."; at most 60 characters plus a short extension. */
export function attachmentFileName(messageId: string, attachment: AttachmentLike, timestamp: number): string {
  const ext = /\.([A-Za-z0-9]{1,8})$/.exec(attachment.name)?.[1]?.toLowerCase() ?? 'bin';
  const base = attachment.name
    .replace(/\.[^.]*$/, '')
    .normalize('NFKD')
    .replace(/[^\w-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 60);
  const date = new Date(timestamp).toISOString().slice(0, 10);
  return `${date}-${messageId.replace(/\D/g, '').slice(0, 24)}-${attachment.id.replace(/\D/g, '').slice(-6)}${base ? `-${base}` : ''}.${ext}`;
}

/** Where Discord serves attachments; the API's own host too (a fake or self-hosted Discord serves them there). */
export const attachmentHosts = (apiUrl: string) => new Set(['cdn.discordapp.com', 'media.discordapp.net', new URL(apiUrl).host]);

/** The whole body, or an error once more than `maxBytes` arrived. Only from Discord's hosts, no redirects. */
async function download(url: string, maxBytes: number, hosts: Set<string>): Promise<Buffer> {
  if (!hosts.has(new URL(url).host)) throw new Error(`not from Discord (${new URL(url).host})`);
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000), redirect: 'error' });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of res.body) {
    bytes += chunk.length;
    if (bytes > maxBytes) {
      await res.body.cancel().catch(() => undefined);
      throw new Error(`larger than the ${mb(maxBytes)} limit`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Saves one attachment and says what the agent reads in its place: "[image: /workspace/group/media/…]". */
export async function saveAttachment(
  messageId: string,
  attachment: AttachmentLike,
  timestamp: number,
  folder: GroupFolder,
  limits: { maxBytes: number; hosts: Set<string> },
): Promise<SavedAttachment> {
  const { maxBytes } = limits;
  const kind = attachment.contentType?.split('/')[0] === 'image' ? 'image' : 'file';
  const label = `${kind} ${attachment.name.replace(/[\]\n]/g, '_')}`;
  if (attachment.size > maxBytes) return { ok: false, refused: false, line: `[${label}: too large to download (${mb(attachment.size)}; the limit is ${mb(maxBytes)})]` };
  let data: Buffer;
  try {
    data = await download(attachment.url, maxBytes, limits.hosts);
  } catch (err) {
    return { ok: false, refused: false, line: `[${label}: could not be downloaded: ${(err as Error).message}]` };
  }
  const name = attachmentFileName(messageId, attachment, timestamp);
  try {
    folder.save(`media/${name}`, data);
  } catch (err) {
    return { ok: false, refused: true, line: `[${label}: could not be saved: ${(err as Error).message}]` };
  }
  return { ok: true, line: `[${kind}: ${folder.sandboxPath}/media/${name}]` };
}

// Photos, voice notes, audio, video and documents sent to a registered chat are downloaded (getFile, then the
// file URL) into the chat's group folder under media/, where the agent opens them. The size is checked before
// (the declared size) and during the download (the bytes that actually come); names are ours, built from the
// message, with a cleaned copy of a document's own name. Saving goes through the folder's safe path, which
// refuses links and other things the agent may have planted instead of writing through them.
import type { Api } from 'grammy';
import type { GroupFolder } from '../channel.js';
import type { MediaRef } from './inbound.js';

export type SavedMedia = { ok: true; sandboxPath: string } | { ok: false; reason: string; refused?: boolean };

const EXTENSIONS: Record<string, string> = {
  photo: 'jpg',
  voice: 'ogg',
  'video note': 'mp4',
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'audio/mpeg': 'mp3',
  'audio/ogg': 'ogg',
  'video/mp4': 'mp4',
  'application/pdf': 'pdf',
  'text/plain': 'txt',
};

const formatMb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 2 : 0)} MB`;

/** media/<date>-<message id>[-<document name>].<ext>: one name per message, so a redelivery overwrites its own file. */
export function mediaFileName(media: MediaRef, platformId: string, timestamp: number): string {
  const date = new Date(timestamp).toISOString().slice(0, 10);
  const ownExt = /\.([A-Za-z0-9]{1,8})$/.exec(media.fileName ?? '')?.[1]?.toLowerCase();
  const ext = ownExt ?? EXTENSIONS[media.mimeType ?? ''] ?? EXTENSIONS[media.kind] ?? 'bin';
  const base = (media.fileName ?? '').replace(/\.[^.]*$/, '').normalize('NFKD').replace(/[^\w-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 60);
  return `${date}-${platformId.replace(/\D+/g, '_')}${base ? `-${base}` : ''}.${ext}`;
}

export interface MediaSource {
  api: Api;
  apiRoot: string;
  token: string;
  maxBytes: number;
}

export async function saveMedia(media: MediaRef, name: string, folder: GroupFolder, source: MediaSource): Promise<SavedMedia> {
  const { maxBytes } = source;
  if ((media.fileSize ?? 0) > maxBytes) return { ok: false, reason: `too large to download (${formatMb(media.fileSize!)}; the limit is ${formatMb(maxBytes)})` };
  let data: Uint8Array;
  try {
    const file = await source.api.getFile(media.fileId);
    if (!file.file_path) throw new Error('Telegram gave no download path');
    const res = await fetch(`${source.apiRoot}/file/bot${source.token}/${file.file_path}`);
    if (!res.ok || !res.body) throw new Error(`the download answered ${res.status}`);
    data = await readCapped(res.body, maxBytes);
  } catch (err) {
    return { ok: false, reason: `could not be downloaded: ${(err as Error).message}` };
  }
  try {
    folder.save(`media/${name}`, data);
  } catch (err) {
    return { ok: false, reason: `could not be saved: ${(err as Error).message}`, refused: true };
  }
  return { ok: true, sandboxPath: `${folder.sandboxPath}/media/${name}` };
}

/** The whole body, or an error as soon as more than `maxBytes` arrived (a declared size can lie). */
async function readCapped(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    if (bytes > maxBytes) throw new Error(`larger than the ${formatMb(maxBytes)} limit`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

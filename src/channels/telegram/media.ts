// Photos, voice notes, audio, video and documents sent to a registered chat are downloaded (getFile, then the
// file URL) into the chat's group folder under media/ (capped and saved safely by ../kit/media.ts), where the
// agent opens them. Names are ours, built from the message, with a cleaned copy of a document's own name.
import type { Api } from 'grammy';
import type { GroupFolder } from '../channel.js';
import { readCapped, saveToMediaFolder, type SavedMedia } from '../kit/media.js';
import type { MediaRef } from './inbound.js';

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

/** Download a file of a message (getFile, then its URL) into the folder's media/. */
export function saveMedia(media: MediaRef, name: string, folder: GroupFolder, source: MediaSource): Promise<SavedMedia> {
  return saveToMediaFolder(folder, name, {
    declaredBytes: media.fileSize,
    maxBytes: source.maxBytes,
    download: async () => {
      const file = await source.api.getFile(media.fileId);
      if (!file.file_path) throw new Error('Telegram gave no download path');
      const res = await fetch(`${source.apiRoot}/file/bot${source.token}/${file.file_path}`);
      if (!res.ok || !res.body) throw new Error(`the download answered ${res.status}`);
      return readCapped(res.body, source.maxBytes);
    },
  });
}

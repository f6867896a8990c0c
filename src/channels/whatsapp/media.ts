// Inbound media (images, voice notes, videos, documents) is downloaded into the chat's group folder, under
// media/, so the agent can open it. Sizes are capped before and during the download; names are ours, not the
// sender's (a document keeps a sanitized copy of its name for the agent's benefit). The download is held in
// memory (at most the cap) and saved through the folder's safe path: a media/ the agent swapped for a link, or a
// FIFO under the file's name, makes the save fail with a reason instead of writing through it.
import { downloadMediaMessage, type proto, type WAMessage } from '@whiskeysockets/baileys';
import type { GroupFolder } from '../channel.js';
import { readCapped, saveToMediaFolder, type SavedMedia } from '../kit/media.js';
import type { ILogger, WASocketLike } from './socket.js';

export type MediaMessage =
  | proto.Message.IImageMessage
  | proto.Message.IVideoMessage
  | proto.Message.IAudioMessage
  | proto.Message.IDocumentMessage;

export type { SavedMedia } from '../kit/media.js';

const EXTENSIONS: Record<string, string> = { jpeg: 'jpg', mpeg: 'mp3', quicktime: 'mov', 'x-m4a': 'm4a', plain: 'txt' };

/** Letters, digits, ".", "-" and "_" only; no leading dot, no ".."; bounded length. */
export function safeFileName(name: string, maxLength = 100): string {
  const cleaned = name
    .normalize('NFKD')
    .replace(/[^\w.-]+/g, '_')
    .replace(/\.{2,}/g, '_')
    .replace(/^[._]+/, '')
    .replace(/_+/g, '_');
  if (cleaned.length <= maxLength) return cleaned || 'file';
  const ext = /\.[A-Za-z0-9]{1,8}$/.exec(cleaned)?.[0] ?? '';
  return cleaned.slice(0, maxLength - ext.length) + ext;
}

function extensionOf(media: MediaMessage): string {
  const fromName = 'fileName' in media && media.fileName ? /\.([A-Za-z0-9]{1,8})$/.exec(media.fileName)?.[1] : undefined;
  if (fromName) return fromName.toLowerCase();
  const subtype = media.mimetype?.split(';')[0].split('/')[1]?.trim().toLowerCase();
  if (!subtype || !/^[a-z0-9.+-]{1,40}$/.test(subtype)) return 'bin';
  return EXTENSIONS[subtype] ?? (subtype.length <= 8 && /^[a-z0-9]+$/.test(subtype) ? subtype : 'bin');
}

/** media/<date>-<message id>[-<document name>].<ext>: unique per message, so a redelivery finds its file. */
export function mediaFileName(message: WAMessage, media: MediaMessage, timestamp: number): string {
  const id = (message.key.id || 'unknown').replace(/[^A-Za-z0-9]+/g, '_').slice(0, 40);
  const date = new Date(timestamp).toISOString().slice(0, 10);
  const docName = 'fileName' in media && media.fileName ? safeFileName(media.fileName.replace(/\.[^.]*$/, ''), 60) : '';
  return `${date}-${id}${docName ? `-${docName}` : ''}.${extensionOf(media)}`;
}

export function saveMedia(
  message: WAMessage,
  media: MediaMessage,
  timestamp: number,
  folder: GroupFolder,
  opts: { maxBytes: number; sock: WASocketLike; logger: ILogger },
): Promise<SavedMedia> {
  return saveToMediaFolder(folder, mediaFileName(message, media, timestamp), {
    declaredBytes: Number(media.fileLength ?? 0),
    maxBytes: opts.maxBytes,
    download: async () => {
      const stream = await downloadMediaMessage(message, 'stream', {}, {
        reuploadRequest: (m) => opts.sock.updateMediaMessage(m),
        logger: opts.logger,
      });
      return readCapped(stream, opts.maxBytes);
    },
  });
}

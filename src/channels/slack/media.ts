// Files shared with the bot are downloaded with the bot token (Slack's file links need it) into the chat's group
// folder under media/. The token goes only to Slack's own file host (or the configured API's, in tests); the size
// is capped before and during the download; the name is ours. The save goes through the folder's safe path.
import type { GroupFolder } from '../channel.js';
import { readCapped, saveToMediaFolder, type SavedMedia } from '../kit/media.js';

export interface SlackFile {
  id?: string;
  name?: string;
  size?: number;
  mode?: string;
  url_private_download?: string;
  url_private?: string;
}


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
): Promise<SavedMedia> {
  const url = file.url_private_download ?? file.url_private;
  if (!url || file.mode === 'external' || file.mode === 'tombstone') return { ok: false, reason: 'is not a file Slack holds' };
  if (!trustedFileUrl(url, opts.apiUrl)) return { ok: false, reason: 'is not on Slack’s file host' };
  return saveToMediaFolder(folder, mediaName(file, timestamp), {
    declaredBytes: file.size,
    maxBytes: opts.maxBytes,
    download: async () => {
      // No redirects: a redirect elsewhere would carry the token away (and Slack's answer to a bad token is one).
      const res = await fetch(url, { headers: { authorization: `Bearer ${opts.botToken}` }, redirect: 'manual' });
      if (res.status !== 200 || !res.body) throw new Error(`HTTP ${res.status}`);
      return readCapped(res.body, opts.maxBytes);
    },
  });
}

// Saving a file people sent into a chat's group folder, for every channel: the size checked before the download
// (the size the platform declares) and during it (the bytes that come: a declared size can lie), the result
// saved under media/ through the folder's safe path. What went wrong is said in words the chat can be told.
import type { GroupFolder } from '../channel.js';

/** `refused`: the group folder would not take the file (something the agent planted, a full disk): the chat is told. */
export type SavedMedia = { ok: true; sandboxPath: string; bytes: number } | { ok: false; reason: string; refused?: boolean };

export const formatMb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 2 : 0)} MB`;

/**
 * Download (unless the declared size is already over the cap) and save as media/<name>. `download` must stop
 * once more than maxBytes arrived; see `readCapped`.
 */
export async function saveToMediaFolder(
  folder: GroupFolder,
  name: string,
  media: { declaredBytes?: number; maxBytes: number; download: () => Promise<Uint8Array> },
): Promise<SavedMedia> {
  const { declaredBytes = 0, maxBytes } = media;
  if (declaredBytes > maxBytes) return { ok: false, reason: `too large to download (${formatMb(declaredBytes)}; the limit is ${formatMb(maxBytes)})` };
  let data: Uint8Array;
  try {
    data = await media.download();
  } catch (err) {
    return { ok: false, reason: `could not be downloaded: ${(err as Error).message}` };
  }
  try {
    folder.save(`media/${name}`, data);
  } catch (err) {
    return { ok: false, reason: `could not be saved: ${(err as Error).message}`, refused: true };
  }
  return { ok: true, sandboxPath: `${folder.sandboxPath}/media/${name}`, bytes: data.length };
}

/** The whole stream, or an error as soon as more than `maxBytes` arrived. */
export async function readCapped(stream: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of stream) {
    bytes += chunk.length;
    if (bytes > maxBytes) throw new Error(`larger than the ${formatMb(maxBytes)} limit`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

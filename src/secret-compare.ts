// The one place secrets presented by a client are compared with the expected one.
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Whether `given` equals `expected`, in time that depends on neither: both are hashed first, so the compare
 * always runs over two equal-length digests and even the secret's length does not leak.
 */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

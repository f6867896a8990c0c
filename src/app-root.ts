import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findUp } from './fs/paths.js';

/** The project root (from src/ under tests, from dist/src/ when built): it holds the runner's compiled code and
 * node_modules, which sandboxes get read-only (bwrap mounts them, image backends bake them into the image). */
export const APP_ROOT = findUp(dirname(fileURLToPath(import.meta.url)), 'package.json');

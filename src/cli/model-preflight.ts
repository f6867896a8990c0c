// `start` and `doctor` prove the model credentials with one real call before anything else depends on them.
import { checkModelAccess, describeCheck, type CheckResult } from '../boundary/model-check.js';
import type { Config } from '../config.js';
import { CliError } from './exit.js';

/** Failures that no wait can fix: the owner has to change a setting. An unreachable endpoint may come back. */
export const needsOwner = (r: CheckResult): boolean => !r.ok && r.kind !== 'unreachable';

/** `start`: refuse to run with credentials or an endpoint the API rejects; only warn when it cannot be reached. */
export async function preflightModel(config: Config, say: (line: string) => void): Promise<void> {
  const result = await checkModelAccess(config);
  if (needsOwner(result)) throw new CliError(`Carapace cannot start: ${describeCheck(result)}`);
  say(result.ok ? describeCheck(result) : `Warning: ${describeCheck(result)} Starting anyway; chats will fail until it answers.`);
}

// `carapace setup`, step 1 (inference first): the API key or OAuth token, proven with one real model call before
// it is saved owner-only.
import { prompts } from './prompts.js';
import { readFileSync } from 'node:fs';
import { checkModelAccess, describeCheck } from '../boundary/model-check.js';
import type { Config } from '../config.js';
import { updateEnvFile } from './env-file.js';
import { CliError } from './exit.js';
import type { SetupRun } from './setup-run.js';

type Credentials = Config['credentials'];

/** Which setting a secret belongs in: Claude Code OAuth tokens have their own prefix. */
export function credentialsFor(secret: string): Credentials {
  return /^sk-ant-oat/.test(secret) ? { oauthToken: secret } : { apiKey: secret };
}

/** "sk-ant-…1a2b": enough to recognise a secret, never enough to use it. */
export const masked = (secret: string) => `${secret.slice(0, 7)}…${secret.slice(-4)}`;

function readSecretFile(file: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new CliError(`${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!text || /\s/.test(text)) throw new CliError(`${what} ${file} must hold the key or token alone, on one line.`);
  return text;
}

/** The credential the flags name, the one already saved, or (on a terminal) one typed in. */
async function candidate(run: SetupRun, saved: Credentials, attempt: number): Promise<Credentials> {
  const { opts } = run;
  if (opts.apiKeyFile) return { apiKey: readSecretFile(opts.apiKeyFile, '--api-key-file') };
  if (opts.oauthTokenFile) return { oauthToken: readSecretFile(opts.oauthTokenFile, '--oauth-token-file') };
  const current = saved.apiKey ?? saved.oauthToken;
  if (current && attempt === 0) return saved;
  if (!run.interactive) throw new CliError('No model credential: pass --api-key-file <file> (or --oauth-token-file <file>).');
  run.note('an API key from console.anthropic.com, or a Claude Code OAuth token from `claude setup-token`');
  const secret = await (await prompts()).password({
    message: 'API key or OAuth token:',
    mask: '*',
    validate: (v) => (v.trim().length >= 20 && !/\s/.test(v.trim()) ? true : 'Paste the whole key or token, without spaces.'),
  });
  return credentialsFor(secret.trim());
}

/** Ask (or read) a credential until the model API accepts it; save it; return it. */
export async function setupModel(run: SetupRun, config: Config): Promise<Credentials> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const credentials = await candidate(run, config.credentials, attempt);
    const secret = credentials.apiKey ?? credentials.oauthToken!;
    const kind = credentials.apiKey ? 'API key' : 'OAuth token';
    run.say(`Checking the ${kind} ${masked(secret)} with one tiny model call to ${config.upstreamUrl} …`);
    const result = await checkModelAccess({ upstreamUrl: config.upstreamUrl, credentials, model: config.model });
    if (result.ok) {
      run.done(describeCheck(result));
      updateEnvFile(run.envFile, { ANTHROPIC_API_KEY: credentials.apiKey, CLAUDE_CODE_OAUTH_TOKEN: credentials.oauthToken });
      return credentials;
    }
    run.failed(describeCheck(result));
    if (!run.interactive || run.opts.apiKeyFile || run.opts.oauthTokenFile || result.kind === 'unreachable')
      throw new CliError(`Setup stopped: ${result.message}`);
  }
  throw new CliError('Setup stopped: the model API refused three keys in a row.');
}

// Proving the model credentials work: one tiny real call (max_tokens 1) to the configured endpoint, and the words
// that tell the owner what is wrong when the API refuses the credential (at setup, start, doctor, and in a chat).

export interface ModelAccess {
  upstreamUrl: string;
  credentials: { apiKey?: string; oauthToken?: string };
  model: string;
}

export type CheckFailure = 'no-credentials' | 'refused' | 'unreachable' | 'endpoint' | 'model';
export type CheckResult = { ok: true; ms: number; model: string } | { ok: false; kind: CheckFailure; status?: number; message: string };

/** Where the credential lives, for the messages that say how to fix it. */
const WHERE = 'ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN) in the .env next to package.json';

/** The API refused the credential itself (401) or what it may do (403): retrying cannot help, the owner must act. */
export const isCredentialRefusal = (status: number | undefined): boolean => status === 401 || status === 403;

/** What the owner reads when the API refuses the credential, naming the fix. */
export function credentialFix(status: number, detail?: string): string {
  const what =
    status === 401
      ? 'the model API rejected the key or token (HTTP 401: invalid, revoked or expired)'
      : 'the model API refused this key or token (HTTP 403: no permission for this model or organisation)';
  return `${what}${detail ? ` — “${detail}”` : ''}. Fix: put a valid ${WHERE} (\`carapace setup\` checks it), then restart Carapace.`;
}

/** The headers a credential is sent with (an OAuth token needs the API's OAuth beta). */
export function credentialHeaders(credentials: ModelAccess['credentials']): Record<string, string> {
  if (credentials.apiKey) return { 'x-api-key': credentials.apiKey };
  if (credentials.oauthToken) return { authorization: `Bearer ${credentials.oauthToken}`, 'anthropic-beta': 'oauth-2025-04-20' };
  return {};
}

async function errorDetail(res: Response): Promise<string | undefined> {
  try {
    const body = (await res.json()) as { error?: { message?: unknown } };
    return typeof body?.error?.message === 'string' ? body.error.message.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

/** Turn the endpoint's answer into a result that says what is wrong in words the owner can act on. */
async function judge(res: Response, access: ModelAccess, url: string, ms: number): Promise<CheckResult> {
  if (res.ok) return { ok: true, ms, model: access.model };
  const detail = await errorDetail(res);
  const status = res.status;
  if (isCredentialRefusal(status)) return { ok: false, kind: 'refused', status, message: credentialFix(status, detail) };
  if (status === 404 && detail && /model/i.test(detail))
    return { ok: false, kind: 'model', status, message: `the endpoint does not know model ${access.model} (${detail}); set CARAPACE_MODEL.` };
  if (status === 404 || status === 405)
    return { ok: false, kind: 'endpoint', status, message: `${url} answered HTTP ${status}: ANTHROPIC_BASE_URL does not point at an Anthropic-compatible API.` };
  return { ok: false, kind: 'endpoint', status, message: `${url} answered HTTP ${status}${detail ? `: ${detail}` : ''}.` };
}

/** One real model call of a single output token. Never throws: every failure is a result with its reason. */
export async function checkModelAccess(access: ModelAccess, timeoutMs = 15_000): Promise<CheckResult> {
  if (!access.credentials.apiKey && !access.credentials.oauthToken)
    return { ok: false, kind: 'no-credentials', message: `no model credentials: set ${WHERE} (or run \`carapace setup\`).` };
  let url: string;
  try {
    url = new URL(`${new URL(access.upstreamUrl).pathname.replace(/\/$/, '')}/v1/messages`, access.upstreamUrl).href;
  } catch {
    return { ok: false, kind: 'endpoint', message: `ANTHROPIC_BASE_URL=${access.upstreamUrl} is not a URL.` };
  }
  const t0 = performance.now();
  const body = JSON.stringify({ model: access.model, max_tokens: 1, messages: [{ role: 'user', content: 'ping' }] });
  const headers = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...credentialHeaders(access.credentials) };
  try {
    const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
    return await judge(res, access, url, Math.round(performance.now() - t0));
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { ok: false, kind: 'unreachable', message: `cannot reach ${url}: ${why}. Check ANTHROPIC_BASE_URL and this machine's network.` };
  }
}

/** One line for a check's result. */
export function describeCheck(r: CheckResult): string {
  return r.ok ? `model API works (${r.model} answered in ${r.ms} ms)` : `model API: ${r.message}`;
}

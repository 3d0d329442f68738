/**
 * A registry's answer to a failed request: the status decides the error code, the error
 * body (distribution spec: `{"errors":[{"code":"DENIED","message":"...","detail":...}]}`)
 * says why in the registry's words. Bodies are untrusted: read up to MAX_ERROR_BODY,
 * anything that is not that JSON is ignored, and what is kept is cut short, stripped of
 * control characters, and of any secret the request carried (a registry that echoes
 * headers must not put a token in our logs).
 */
import { RegistryError, type RegistryDiagnostic } from '../errors.ts';

export const MAX_ERROR_BODY = 64 * 1024;
const MAX_DIAGNOSTICS = 16;
/** Diagnostics quoted in the error message; all of them stay in `registryErrors`. */
const QUOTED = 3;
const MAX_CODE = 64;
const MAX_TEXT = 300;
/** Shorter values (a header "1") would redact ordinary words. */
const MIN_SECRET = 8;

function clean(text: string, max: number, secrets: readonly string[]): string {
  let s = text;
  for (const secret of secrets) if (secret.length >= MIN_SECRET) s = s.split(secret).join('[redacted]');
  // Control and format characters (terminal escapes, bidi overrides) would rewrite what a user reads.
  s = s.replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, ' ').trim();
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** The diagnostics of an error body; none when it is not the distribution spec's JSON. */
export function parseErrorBody(body: Buffer, secrets: readonly string[]): RegistryDiagnostic[] {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return [];
  }
  const errors = typeof json === 'object' && json !== null && 'errors' in json ? json.errors : undefined;
  if (!Array.isArray(errors)) return [];
  const out: RegistryDiagnostic[] = [];
  for (const item of errors.slice(0, MAX_DIAGNOSTICS) as unknown[]) {
    if (typeof item !== 'object' || item === null) continue;
    const e = item as { code?: unknown; message?: unknown };
    if (typeof e.code !== 'string') continue;
    const code = clean(e.code, MAX_CODE, secrets);
    if (code === '') continue;
    out.push({ code, message: typeof e.message === 'string' ? clean(e.message, MAX_TEXT, secrets) : '' });
  }
  return out;
}

function retryAfterMs(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

/**
 * The error for a status the caller did not expect: `<what>: HTTP 403: DENIED: requested
 * access to the resource is denied`. `hint` goes with 401 and 403.
 */
export function statusError(status: number, headers: Record<string, string>, diagnostics: readonly RegistryDiagnostic[], what: string, hint?: string): RegistryError {
  const said = diagnostics
    .slice(0, QUOTED)
    .map((d) => (d.message ? `${d.code}: ${d.message}` : d.code))
    .join('; ');
  const tail = said ? `: ${said}` : '';
  const opts = { registryErrors: diagnostics };
  if (status === 404) return new RegistryError('E_NOT_FOUND', `${what}: not found (HTTP 404)${tail}`, undefined, opts);
  if (status === 401 || status === 403) return new RegistryError('E_UNAUTHORIZED', `${what}: HTTP ${status}${tail}`, hint, opts);
  if (status === 429 || status === 503) return new RegistryError('E_RATE_LIMITED', `${what}: HTTP ${status}${tail}`, undefined, { ...opts, retryAfterMs: retryAfterMs(headers['retry-after']) });
  return new RegistryError('E_HTTP', `${what}: HTTP ${status}${tail}`, undefined, opts);
}

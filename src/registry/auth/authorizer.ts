/**
 * Distribution-spec authentication for the upstream registry: on a 401, read the
 * WWW-Authenticate challenge and either fetch a Bearer token from its realm (anonymous,
 * or with the registry's credentials as Basic auth), or answer a Basic challenge with
 * the credentials. Tokens are cached per scope until shortly before they expire.
 */
import { RegistryError } from '../errors.ts';
import type { Transport } from '../transport/transport.ts';
import { parseChallenges } from './challenge.ts';
import type { Credential } from './credential.ts';

interface Token {
  header: string;
  expiresAt: number;
}

const DEFAULT_TOKEN_TTL_S = 60;
/** A token answer is a few kilobytes of JSON. */
const MAX_TOKEN_ANSWER = 256 * 1024;

export class Authorizer {
  private readonly tokens = new Map<string, Token>();
  private basic = false;
  private readonly registry: string;
  private readonly credential: Credential | undefined;
  private readonly transport: Transport;
  private readonly deadlineMs: number;

  /**
   * `transport`: the registry's own, which sends the token requests too (a token realm gets
   * the registry's client certificate, as in containerd). `deadlineMs`: a token answer is
   * small, all of it must arrive within this (pull.stall_after).
   */
  constructor(registry: string, credential: Credential | undefined, transport: Transport, deadlineMs: number) {
    this.registry = registry;
    this.credential = credential;
    this.transport = transport;
    this.deadlineMs = deadlineMs;
  }

  private basicHeader(): string | undefined {
    const c = this.credential;
    return c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` : undefined;
  }

  private who(): string {
    return this.credential ? `with the credentials from ${this.credential.source}` : 'anonymously';
  }

  /** The Authorization header to send for `scope`, if one is known. */
  header(scope: string): string | undefined {
    if (this.basic) return this.basicHeader();
    const t = this.tokens.get(scope);
    return t && t.expiresAt > Date.now() ? t.header : undefined;
  }

  /** Handles a 401: afterwards header(scope) is set, or this throws E_UNAUTHORIZED. */
  async authenticate(wwwAuthenticate: string | undefined, scope: string, signal?: AbortSignal): Promise<void> {
    const challenges = parseChallenges(wwwAuthenticate ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const realm = bearer?.params['realm'];
    if (realm) {
      let url: URL;
      try {
        url = new URL(realm);
      } catch {
        throw new RegistryError('E_UNAUTHORIZED', `${this.registry} named a token realm that is not a URL: ${JSON.stringify(realm.slice(0, 80))}`);
      }
      if (bearer.params['service']) url.searchParams.set('service', bearer.params['service']);
      url.searchParams.set('scope', bearer.params['scope'] ?? scope);
      const basic = this.basicHeader();
      const answer = await this.transport.fetch({
        method: 'GET',
        url,
        what: `token server ${url.origin} for ${this.registry} (${scope}, ${this.who()})`,
        ...(basic ? { headers: { authorization: basic } } : {}),
        limit: MAX_TOKEN_ANSWER,
        // A deadline for the whole exchange: the idle timeouts alone let a trickling server hold us.
        deadlineMs: this.deadlineMs,
        ...(signal ? { signal } : {}),
      });
      let json: { token?: unknown; access_token?: unknown; expires_in?: unknown };
      try {
        json = JSON.parse(answer.body.toString('utf8')) as typeof json;
      } catch {
        throw new RegistryError('E_UNAUTHORIZED', `token server ${url.origin} answered with something that is not JSON`);
      }
      const token = typeof json.token === 'string' ? json.token : typeof json.access_token === 'string' ? json.access_token : undefined;
      if (!token) throw new RegistryError('E_UNAUTHORIZED', `token server ${url.origin} answered without a token`);
      const ttl = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : DEFAULT_TOKEN_TTL_S;
      this.tokens.set(scope, { header: `Bearer ${token}`, expiresAt: Date.now() + Math.max(1, ttl - 10) * 1000 });
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!this.credential) throw new RegistryError('E_UNAUTHORIZED', `${this.registry} requires a username and password`, this.hint);
      if (this.basic) throw new RegistryError('E_UNAUTHORIZED', `${this.registry} refused the credentials from ${this.credential.source}`, this.hint);
      this.basic = true;
      return;
    }
    throw new RegistryError(
      'E_UNAUTHORIZED',
      `${this.registry} refused the request ${this.who()} and offered no usable authentication (${wwwAuthenticate ?? 'no WWW-Authenticate header'})`,
      this.hint,
    );
  }

  /** What was refused when a request is refused even after authenticating, to start its error message. */
  refusal(scope: string): string {
    return `${this.registry} refused ${this.credential ? `the credentials from ${this.credential.source}` : 'anonymous access'} for ${scope}`;
  }

  /** A token that was just refused must not be reused. */
  forget(scope: string): void {
    this.tokens.delete(scope);
  }

  get hint(): string {
    return `add credentials for ${this.registry} to kairos-spegel.credentials (with a password_file), /etc/rancher/k3s/registries.yaml configs, or docker's config.json`;
  }
}

/**
 * Distribution-spec authentication for the upstream registry: on a 401, read the
 * WWW-Authenticate challenge and either fetch a Bearer token from its realm (anonymous,
 * or with the registry's credentials as Basic auth), or answer a Basic challenge with
 * the credentials. Tokens are cached per scope until shortly before they expire.
 */
import type { Dispatcher } from 'undici';
import { errorMessage } from '../../errors.ts';
import { withDeadline } from '../deadline.ts';
import { RegistryError } from '../errors.ts';
import { requestFollowing, type Connections } from '../redirect.ts';
import { parseChallenges } from './challenge.ts';
import type { Credential } from './credential.ts';

interface Token {
  header: string;
  expiresAt: number;
}

const DEFAULT_TOKEN_TTL_S = 60;

export class Authorizer {
  private readonly tokens = new Map<string, Token>();
  private basic = false;
  private readonly registry: string;
  private readonly credential: Credential | undefined;
  private readonly connections: Connections;
  private readonly deadlineMs: number;

  /**
   * `connections`: the registry's own (a token realm gets its client certificate, as in
   * containerd) and the one for redirects. `deadlineMs`: a token answer is small, all of it
   * must arrive within this (pull.stall_after).
   */
  constructor(registry: string, credential: Credential | undefined, connections: Connections, deadlineMs: number) {
    this.registry = registry;
    this.credential = credential;
    this.connections = connections;
    this.deadlineMs = deadlineMs;
  }

  private basicHeader(): string | undefined {
    const c = this.credential;
    return c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` : undefined;
  }

  /** The Authorization header to send for `scope`, if one is known. */
  header(scope: string): string | undefined {
    if (this.basic) return this.basicHeader();
    const t = this.tokens.get(scope);
    return t && t.expiresAt > Date.now() ? t.header : undefined;
  }

  /** Handles a 401: afterwards header(scope) is set, or this throws E_UNAUTHORIZED. */
  async authenticate(wwwAuthenticate: string | undefined, scope: string): Promise<void> {
    const challenges = parseChallenges(wwwAuthenticate ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const who = this.credential ? `with the credentials from ${this.credential.source}` : 'anonymously';
    if (bearer?.params['realm']) {
      const url = new URL(bearer.params['realm']);
      if (bearer.params['service']) url.searchParams.set('service', bearer.params['service']);
      url.searchParams.set('scope', bearer.params['scope'] ?? scope);
      const basic = this.basicHeader();
      // A deadline for the whole exchange: the idle timeouts alone let a trickling server hold us.
      const { res, body } = await withDeadline(`token server ${url.origin} for ${this.registry}`, this.deadlineMs, undefined, async (signal) => {
        let res: Dispatcher.ResponseData;
        try {
          res = await requestFollowing(url, { ...this.connections, method: 'GET', headers: basic ? { authorization: basic } : {}, headersTimeout: this.deadlineMs, bodyTimeout: this.deadlineMs, signal });
        } catch (err) {
          if (signal.aborted || err instanceof RegistryError) throw err;
          throw new RegistryError('E_NETWORK', `token server ${url.origin} for ${this.registry}: ${errorMessage(err)}`);
        }
        return { res, body: await res.body.text() };
      });
      if (res.statusCode !== 200) {
        throw new RegistryError('E_UNAUTHORIZED', `token server ${url.origin} refused a token for ${this.registry} (${scope}) ${who}: HTTP ${res.statusCode}`, this.hint());
      }
      let json: { token?: unknown; access_token?: unknown; expires_in?: unknown };
      try {
        json = JSON.parse(body) as typeof json;
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
      if (!this.credential) throw new RegistryError('E_UNAUTHORIZED', `${this.registry} requires a username and password`, this.hint());
      if (this.basic) throw new RegistryError('E_UNAUTHORIZED', `${this.registry} refused the credentials from ${this.credential.source}`, this.hint());
      this.basic = true;
      return;
    }
    throw new RegistryError('E_UNAUTHORIZED', `${this.registry} refused the request ${who} and offered no usable authentication (${wwwAuthenticate ?? 'no WWW-Authenticate header'})`, this.hint());
  }

  /** The error for a request refused even after authenticating. */
  refused(scope: string): RegistryError {
    const who = this.credential ? `the credentials from ${this.credential.source}` : 'anonymous access';
    return new RegistryError('E_UNAUTHORIZED', `${this.registry} refused ${who} for ${scope}`, this.hint());
  }

  /** A token that was just refused must not be reused. */
  forget(scope: string): void {
    this.tokens.delete(scope);
  }

  private hint(): string {
    return `add credentials for ${this.registry} to kairos-spegel.credentials (with a password_file), /etc/rancher/k3s/registries.yaml configs, or docker's config.json`;
  }
}

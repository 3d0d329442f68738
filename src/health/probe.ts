/**
 * Probes one mirror endpoint the way containerd would reach it: a TCP connect
 * within the dial timeout, `GET /v2/`, then Spegel's readiness (`/readyz` since
 * Spegel 0.4, `/healthz` before). A plain registry has neither; that is not a failure.
 */
import { ConfigError, errorMessage } from '../errors.ts';
import type { Root } from '../fs/root.ts';
import { tcpConnect, type TcpResult } from '../node/tcp-connect.ts';
import { loadTls, type TlsFiles } from '../registry/transport/tls.ts';
import { Transport } from '../registry/transport/transport.ts';

export type { TlsFiles } from '../registry/transport/tls.ts';

export interface HttpResult {
  path: string;
  status?: number;
  error?: string;
}

export type EndpointState = 'up' | 'not-ready' | 'down';

export interface EndpointProbe {
  url: string;
  tcp: TcpResult;
  v2?: HttpResult;
  ready?: HttpResult;
  state: EndpointState;
  reason?: string;
}

/** /v2/ answers "{}", a readiness endpoint a word: anything longer is not what we ask for. */
const MAX_ANSWER = 64 * 1024;

async function get(transport: Transport, origin: string, path: string, timeoutMs: number): Promise<HttpResult> {
  const url = new URL(`${origin}${path}`);
  try {
    // The whole answer within timeoutMs: an endpoint that trickles its body is not healthy. Every status is an answer.
    const answer = await transport.fetch({ method: 'GET', url, what: origin, expect: 'any', limit: MAX_ANSWER, deadlineMs: timeoutMs });
    return { path: url.pathname, status: answer.status };
  } catch (err) {
    return { path: url.pathname, error: errorMessage(err) };
  }
}

export async function probeEndpoint(origin: string, opts: { root: Root; dialTimeoutMs: number; httpTimeoutMs: number; tls?: TlsFiles }): Promise<EndpointProbe> {
  const u = new URL(origin);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  const tcp = await tcpConnect(host, port, opts.dialTimeoutMs);
  if (!tcp.ok) return { url: origin, tcp, state: 'down', reason: `TCP connect failed: ${tcp.error}` };

  let transport: Transport;
  try {
    // TCP reachability was checked within the dial timeout; TLS handshakes get the HTTP timeout.
    transport = new Transport({ origin: u.origin, tls: await loadTls(opts.root, opts.tls ?? {}), connectTimeoutMs: opts.httpTimeoutMs });
  } catch (err) {
    // A CA or client certificate hosts.toml names but that cannot be used: the message names the key and the file.
    if (err instanceof ConfigError) return { url: origin, tcp, state: 'down', reason: err.message };
    throw err;
  }
  try {
    const v2 = await get(transport, origin, '/v2/', opts.httpTimeoutMs);
    if (v2.status === undefined) return { url: origin, tcp, v2, state: 'down', reason: `GET /v2/ failed: ${v2.error}` };
    // 401: the mirror answers but wants credentials (Spegel basic auth, k3s client certs).
    if (v2.status !== 200 && v2.status !== 401) return { url: origin, tcp, v2, state: 'down', reason: `GET /v2/ answered ${v2.status}` };
    let ready = await get(transport, origin, '/readyz', opts.httpTimeoutMs);
    if (ready.status === 404) {
      const legacy = await get(transport, origin, '/healthz', opts.httpTimeoutMs);
      if (legacy.status !== 404) ready = legacy;
    }
    if (ready.status === 200 || ready.status === 404) return { url: origin, tcp, v2, ready, state: 'up' };
    return { url: origin, tcp, v2, ready, state: 'not-ready', reason: `GET ${ready.path} ${ready.status === undefined ? `failed: ${ready.error}` : `answered ${ready.status}`}` };
  } finally {
    await transport.close();
  }
}

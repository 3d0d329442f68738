/**
 * Probes one mirror endpoint the way containerd would reach it: a TCP connect
 * within the dial timeout, `GET /v2/`, then Spegel's readiness (`/readyz` since
 * Spegel 0.4, `/healthz` before). A plain registry has neither; that is not a failure.
 */
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'undici';
import { errorMessage } from '../errors.ts';
import type { Root } from '../fs/root.ts';
import { tcpConnect, type TcpResult } from '../node/tcp-connect.ts';

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

export interface TlsFiles {
  ca?: string[];
  client?: [string, string][];
  skipVerify?: boolean;
}

async function get(agent: Agent, url: string, timeoutMs: number): Promise<HttpResult> {
  const path = new URL(url).pathname;
  try {
    // The whole answer within timeoutMs: an endpoint that trickles its body is not healthy.
    const deadline = AbortSignal.timeout(timeoutMs);
    const res = await request(url, { dispatcher: agent, method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: deadline });
    // dump() ends quietly when the deadline aborts the body, so ask the signal.
    await res.body.dump();
    if (deadline.aborted) return { path, error: `no complete answer within ${timeoutMs} ms` };
    return { path, status: res.statusCode };
  } catch (err) {
    return { path, error: errorMessage(err) };
  }
}

async function tlsOptions(root: Root, tls: TlsFiles | undefined) {
  if (tls === undefined) return {};
  const read = (p: string) => readFile(root.path(p), 'utf8');
  const ca = tls.ca ? await Promise.all(tls.ca.map(read)) : undefined;
  const pair = tls.client?.[0];
  const cert = pair ? await read(pair[0]) : undefined;
  const key = pair ? await read(pair[1] || pair[0]) : undefined;
  return { ...(ca ? { ca } : {}), ...(cert ? { cert, key } : {}), ...(tls.skipVerify ? { rejectUnauthorized: false } : {}) };
}

export async function probeEndpoint(origin: string, opts: { root: Root; dialTimeoutMs: number; httpTimeoutMs: number; tls?: TlsFiles }): Promise<EndpointProbe> {
  const u = new URL(origin);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  const tcp = await tcpConnect(host, port, opts.dialTimeoutMs);
  if (!tcp.ok) return { url: origin, tcp, state: 'down', reason: `TCP connect failed: ${tcp.error}` };

  let tls;
  try {
    tls = await tlsOptions(opts.root, opts.tls);
  } catch (err) {
    return { url: origin, tcp, state: 'down', reason: `cannot read TLS files: ${errorMessage(err)}` };
  }
  // TCP reachability was checked within the dial timeout; TLS handshakes get the HTTP timeout.
  const agent = new Agent({ connect: { timeout: opts.httpTimeoutMs, ...tls }, pipelining: 0 });
  try {
    const v2 = await get(agent, `${origin}/v2/`, opts.httpTimeoutMs);
    if (v2.status === undefined) return { url: origin, tcp, v2, state: 'down', reason: `GET /v2/ failed: ${v2.error}` };
    // 401: the mirror answers but wants credentials (Spegel basic auth, k3s client certs).
    if (v2.status !== 200 && v2.status !== 401) return { url: origin, tcp, v2, state: 'down', reason: `GET /v2/ answered ${v2.status}` };
    let ready = await get(agent, `${origin}/readyz`, opts.httpTimeoutMs);
    if (ready.status === 404) {
      const legacy = await get(agent, `${origin}/healthz`, opts.httpTimeoutMs);
      if (legacy.status !== 404) ready = legacy;
    }
    if (ready.status === 200 || ready.status === 404) return { url: origin, tcp, v2, ready, state: 'up' };
    return { url: origin, tcp, v2, ready, state: 'not-ready', reason: `GET ${ready.path} ${ready.status === undefined ? `failed: ${ready.error}` : `answered ${ready.status}`}` };
  } finally {
    await agent.close();
  }
}

/**
 * GET for blob bodies: a small HTTP/1.1 client for the one hot path of the agent.
 *
 * Why not undici here (it serves everything else): Node's stream sockets allocate a
 * fresh 64 KiB buffer for every read. At hundreds of MB/s that allocation churn costs
 * about twice the CPU of the transfer itself and ~40 MB of resident memory (measured:
 * BENCHMARKS.md). Over plain HTTP (the Spegel mirror: the peers) this client reads into
 * one reused buffer (`onread`) and hands each piece to the caller before reusing it; over
 * TLS (Node offers no `onread` there) it reads ordinary chunks.
 *
 * One request per connection (`Connection: close`), content-length or chunked bodies,
 * redirects followed under the policy every registry request shares (redirect.ts).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { errorMessage } from '../errors.ts';
import { RegistryError } from './errors.ts';
import { crossOriginHeaders, crossOriginTls, nextHop, redirectLocation } from './redirect.ts';

export interface BlobGetOptions {
  headers: Record<string, string>;
  /** The buffer plain-HTTP reads land in (reused by the caller across requests). */
  readBuffer?: Buffer;
  connectTimeoutMs: number;
  tls?: Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'>;
  signal?: AbortSignal;
}

export interface ResponseHead {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  url: URL;
}

/**
 * Receives the body. `data` gets a view into a reused buffer, valid until it returns,
 * or, when it returns a promise, until that settles: reading pauses meanwhile.
 */
export interface BodySink {
  data(chunk: Buffer): void | Promise<void>;
}

export const READ_BUFFER = 256 * 1024;
const MAX_HEAD = 64 * 1024;

type BodyMode = { kind: 'length'; left: number } | { kind: 'chunked'; state: 'size' | 'data' | 'crlf' | 'trailer'; left: number; line: string } | { kind: 'close' } | { kind: 'none' };

function parseHead(text: string, url: URL): ResponseHead {
  const [statusLine, ...lines] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!m) throw new RegistryError('E_HTTP', `${url.origin}: not an HTTP/1.1 response: ${JSON.stringify((statusLine ?? '').slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i <= 0) continue;
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  return { status: Number(m[1]), headers, url };
}

function bodyMode(head: ResponseHead): BodyMode {
  if (head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200)) return { kind: 'none' };
  if (/\bchunked\b/i.test(head.headers['transfer-encoding'] ?? '')) return { kind: 'chunked', state: 'size', left: 0, line: '' };
  const len = head.headers['content-length'];
  if (len !== undefined && /^\d+$/.test(len)) return { kind: 'length', left: Number(len) };
  return { kind: 'close' };
}

/** One request on one connection; resolves with the head once the body is fully delivered. */
function once(url: URL, opts: BlobGetOptions, onHead: (head: ResponseHead) => BodySink | undefined): Promise<ResponseHead> {
  return new Promise<ResponseHead>((resolve, reject) => {
    const https = url.protocol === 'https:';
    const port = Number(url.port || (https ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let head: ResponseHead | undefined;
    let mode: BodyMode = { kind: 'none' };
    let sink: BodySink | undefined;
    let headBuf = Buffer.alloc(0);
    let settled = false;
    let bodyDone = false;
    let socket: Socket;

    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err !== undefined) reject(err);
      else resolve(head!);
    };
    const onAbort = () => finish(opts.signal!.reason ?? new Error('aborted'));

    /** Feeds body bytes through the framing; returns a promise when the sink asked to wait. */
    const body = (buf: Buffer): Promise<void> | undefined => {
      let waits: Promise<void>[] | undefined;
      const deliver = (piece: Buffer) => {
        if (piece.length === 0 || !sink) return;
        const r = sink.data(piece);
        if (r) (waits ??= []).push(r);
      };
      let i = 0;
      while (i < buf.length && !settled) {
        if (mode.kind === 'length') {
          const n = Math.min(mode.left, buf.length - i);
          deliver(buf.subarray(i, i + n));
          mode.left -= n;
          i += n;
          if (mode.left === 0) {
            mode = { kind: 'none' };
            break;
          }
        } else if (mode.kind === 'close') {
          deliver(buf.subarray(i));
          i = buf.length;
        } else if (mode.kind === 'chunked') {
          if (mode.state === 'data') {
            const n = Math.min(mode.left, buf.length - i);
            deliver(buf.subarray(i, i + n));
            mode.left -= n;
            i += n;
            if (mode.left === 0) mode.state = 'crlf';
            continue;
          }
          const nl = buf.indexOf(10, i);
          const part = buf.toString('latin1', i, nl < 0 ? buf.length : nl + 1);
          i = nl < 0 ? buf.length : nl + 1;
          mode.line += part;
          if (!mode.line.endsWith('\n')) continue;
          const line = mode.line.trim();
          mode.line = '';
          if (mode.state === 'size') {
            const size = parseInt(line.split(';')[0]!, 16);
            if (Number.isNaN(size)) return void finish(new RegistryError('E_HTTP', `${url.origin}: bad chunk size ${JSON.stringify(line)}`));
            mode.left = size;
            mode.state = size === 0 ? 'trailer' : 'data';
          } else if (mode.state === 'crlf') {
            mode.state = 'size';
          } else if (line === '') {
            mode = { kind: 'none' };
            break;
          }
        } else {
          break;
        }
      }
      if (mode.kind === 'none' && head) {
        // The body is complete: the connection may now close at any time without harm.
        bodyDone = true;
        if (waits) Promise.all(waits).then(() => finish(), finish);
        else finish();
        return undefined;
      }
      return waits ? Promise.all(waits).then(() => undefined) : undefined;
    };

    /** Bytes from the socket (a reused buffer with `onread`, a fresh chunk otherwise). */
    const onBytes = (buf: Buffer): boolean => {
      if (settled) return false;
      try {
        if (!head) {
          const end = Buffer.concat([headBuf, buf]);
          const at = end.indexOf('\r\n\r\n');
          if (at < 0) {
            if (end.length > MAX_HEAD) throw new RegistryError('E_HTTP', `${url.origin}: response headers larger than ${MAX_HEAD} bytes`);
            headBuf = end; // a copy: `buf` is reused
            return true;
          }
          head = parseHead(end.toString('latin1', 0, at), url);
          mode = bodyMode(head);
          sink = onHead(head);
          if (!sink) {
            finish();
            return false;
          }
          if (mode.kind === 'none') {
            finish();
            return false;
          }
          buf = end.subarray(at + 4);
        }
        const wait = body(buf);
        if (wait) {
          wait.then(
            () => {
              if (!settled) socket.resume();
            },
            finish,
          );
          return false; // pause reading until the sink is done
        }
        return true;
      } catch (err) {
        finish(err);
        return false;
      }
    };

    const readBuffer = opts.readBuffer ?? Buffer.allocUnsafe(READ_BUFFER);
    socket = https
      ? tlsConnect({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host, ALPNProtocols: ['http/1.1'], ...opts.tls })
      : netConnect({
          host,
          port,
          onread: {
            buffer: readBuffer,
            // Returning false pauses the socket; resume() continues.
            callback: (n) => onBytes(readBuffer.subarray(0, n)),
          },
        });
    if (https) {
      socket.on('data', (c: Buffer) => {
        if (!onBytes(c)) socket.pause();
      });
    }
    const connectTimer = setTimeout(() => finish(new RegistryError('E_NETWORK', `${url.origin}: no connection within ${opts.connectTimeoutMs}ms`)), opts.connectTimeoutMs);
    socket.once(https ? 'secureConnect' : 'connect', () => {
      clearTimeout(connectTimer);
      const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close', 'Accept-Encoding: identity'];
      for (const [k, v] of Object.entries(opts.headers)) lines.push(`${k}: ${v}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    socket.on('error', (err) => finish(new RegistryError('E_NETWORK', `${url.origin}: ${errorMessage(err)}`, undefined, { cause: err })));
    const closed = () => {
      if (bodyDone) return; // finishing once the sink is done with the last piece
      if (head && mode.kind === 'close') finish();
      else finish(new RegistryError('E_NETWORK', `${url.origin}: connection closed before the response ended`));
    };
    socket.on('end', closed);
    socket.on('close', closed);
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * GETs `url`, following redirects under the policy of redirect.ts. `onHead` sees the final
 * response's status and headers and returns the sink for its body, or undefined to skip the
 * body (error statuses).
 */
export async function blobGet(url: URL, opts: BlobGetOptions, onHead: (head: ResponseHead) => BodySink | undefined): Promise<ResponseHead> {
  let current = url;
  let headers = { ...opts.headers };
  let tls = opts.tls;
  let crossed = false;
  for (let hop = 0; ; hop++) {
    let location: string | undefined;
    const head = await once(current, { ...opts, headers, tls }, (h) => {
      location = redirectLocation(h.status, h.headers['location']);
      return location === undefined ? onHead(h) : undefined;
    });
    if (location === undefined) return head;
    const next = nextHop(current, location, hop);
    if (next.origin !== url.origin && !crossed) {
      crossed = true;
      headers = crossOriginHeaders(headers);
      tls = crossOriginTls(tls);
    }
    current = next;
  }
}

/**
 * The wire for blob bodies: a small HTTP/1.1 client for the one hot path of the agent.
 *
 * Why not undici here (it carries everything else): Node's stream sockets allocate a
 * fresh 64 KiB buffer for every read. At hundreds of MB/s that allocation churn costs
 * about twice the CPU of the transfer itself and ~40 MB of resident memory (measured:
 * BENCHMARKS.md). Over plain HTTP (the Spegel mirror: the peers) this client reads into
 * one reused buffer (`onread`) and hands each piece to the sink before reusing it; over
 * TLS (Node offers no `onread` there) it reads ordinary chunks.
 *
 * One request per connection (`Connection: close`), content-length, chunked or
 * until-close bodies. A response that is not HTTP/1.1 (status line, header lines,
 * Content-Length, chunk framing) is an E_HTTP error, never a guess.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { errorMessage } from '../../errors.ts';
import { RegistryError } from '../errors.ts';
import type { TlsOptions } from './tls.ts';
import type { BodySink, ResponseHead, WireRequest } from './wire.ts';

export interface RawWireOptions {
  tls?: TlsOptions;
  connectTimeoutMs: number;
  /** From the connection to the end of the response head. */
  headersTimeoutMs: number;
  /** The buffer plain-HTTP reads land in (reused by the caller across requests). */
  readBuffer?: Buffer;
}

export const READ_BUFFER = 256 * 1024;
const MAX_HEAD = 64 * 1024;
/** A chunk-size or trailer line; real ones are a few bytes. */
const MAX_CHUNK_LINE = 4096;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

type BodyMode = { kind: 'length'; left: number } | { kind: 'chunked'; state: 'size' | 'data' | 'crlf' | 'trailer'; left: number; line: string } | { kind: 'close' } | { kind: 'none' };

function malformed(what: string, why: string): RegistryError {
  return new RegistryError('E_HTTP', `${what}: malformed HTTP response: ${why}`);
}

function parseHead(text: string, url: URL, what: string): ResponseHead {
  const [statusLine = '', ...lines] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
  if (!m) throw new RegistryError('E_HTTP', `${what}: not an HTTP/1.1 response: ${JSON.stringify(statusLine.slice(0, 80))}`);
  const headers: Record<string, string> = {};
  lines.forEach((l, n) => {
    const i = l.indexOf(':');
    // The line itself is not quoted: a server may echo what we sent.
    if (i <= 0 || !TOKEN.test(l.slice(0, i)) || /[\r\n\0]/.test(l)) throw malformed(what, `header line ${n + 1} is not "name: value"`);
    const k = l.slice(0, i).toLowerCase();
    const v = l.slice(i + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  });
  return { status: Number(m[1]), headers, url };
}

function bodyMode(head: ResponseHead, method: WireRequest['method'], what: string): BodyMode {
  if (method === 'HEAD' || head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200)) return { kind: 'none' };
  const te = head.headers['transfer-encoding'];
  if (te !== undefined) return /(?:^|,)\s*chunked\s*$/i.test(te) ? { kind: 'chunked', state: 'size', left: 0, line: '' } : { kind: 'close' };
  const len = head.headers['content-length'];
  if (len === undefined) return { kind: 'close' };
  // Repeated headers arrive joined: all the same value, or no valid length at all.
  const values = new Set(len.split(',').map((v) => v.trim()));
  const [value = ''] = values;
  if (values.size !== 1 || !/^\d{1,15}$/.test(value)) throw malformed(what, `Content-Length ${JSON.stringify(len.slice(0, 40))}`);
  return { kind: 'length', left: Number(value) };
}

/** One request on one connection; resolves with the head once the body is fully delivered. */
export function rawExchange(url: URL, req: WireRequest, opts: RawWireOptions, onHead: (head: ResponseHead) => BodySink | undefined): Promise<ResponseHead> {
  return new Promise<ResponseHead>((resolve, reject) => {
    const { what } = req;
    const https = url.protocol === 'https:';
    const port = Number(url.port || (https ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let head: ResponseHead | undefined;
    let mode: BodyMode = { kind: 'none' };
    let sink: BodySink | undefined;
    let headBuf = Buffer.alloc(0);
    let settled = false;
    let bodyDone = false;
    // eslint-disable-next-line prefer-const -- assigned once below, after the callbacks that close over it
    let socket: Socket;

    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err !== undefined) reject(err instanceof Error ? err : new Error(errorMessage(err)));
      else resolve(head!);
    };
    const onAbort = () => finish(req.signal!.reason ?? new Error('aborted'));

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
          mode.line += buf.toString('latin1', i, nl < 0 ? buf.length : nl + 1);
          i = nl < 0 ? buf.length : nl + 1;
          if (mode.line.length > MAX_CHUNK_LINE) throw malformed(what, `a chunk line longer than ${MAX_CHUNK_LINE} bytes`);
          if (!mode.line.endsWith('\n')) continue;
          const line = mode.line.trim();
          mode.line = '';
          if (mode.state === 'size') {
            const size = line.split(';')[0]!.trim();
            if (!/^[0-9a-fA-F]{1,12}$/.test(size)) throw malformed(what, `chunk size ${JSON.stringify(line.slice(0, 40))}`);
            mode.left = parseInt(size, 16);
            mode.state = mode.left === 0 ? 'trailer' : 'data';
          } else if (mode.state === 'crlf') {
            if (line !== '') throw malformed(what, 'a chunk longer than its size');
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
            if (end.length > MAX_HEAD) throw malformed(what, `a head larger than ${MAX_HEAD} bytes`);
            headBuf = end; // a copy: `buf` is reused
            return true;
          }
          clearTimeout(timer);
          head = parseHead(end.toString('latin1', 0, at), url, what);
          mode = bodyMode(head, req.method, what);
          sink = onHead(head);
          if (!sink || mode.kind === 'none') {
            finish();
            return false;
          }
          buf = end.subarray(at + 4);
        }
        const wait = body(buf);
        if (wait) {
          wait.then(() => {
            if (!settled) socket.resume();
          }, finish);
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
    let timer = setTimeout(() => finish(new RegistryError('E_NETWORK', `${what}: no connection within ${opts.connectTimeoutMs}ms`)), opts.connectTimeoutMs);
    socket.once(https ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(new RegistryError('E_NETWORK', `${what}: no response head within ${opts.headersTimeoutMs}ms`)), opts.headersTimeoutMs);
      const lines = [`${req.method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close', 'Accept-Encoding: identity'];
      for (const [k, v] of Object.entries(req.headers)) lines.push(`${k}: ${v}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    socket.on('error', (err) => finish(new RegistryError('E_NETWORK', `${what}: ${errorMessage(err)}`, undefined, { cause: err })));
    const closed = () => {
      if (bodyDone) return; // finishing once the sink is done with the last piece
      if (head && mode.kind === 'close') finish();
      else finish(new RegistryError('E_NETWORK', `${what}: the connection closed before the response ended`));
    };
    socket.on('end', closed);
    socket.on('close', closed);
    if (req.signal?.aborted) onAbort();
    else req.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

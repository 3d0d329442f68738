/**
 * A recording, fault-injecting HTTP proxy in front of a real registry: every request is
 * logged (time, path, headers, bytes sent), and a rule can answer with a status (Spegel's
 * 404 body, 429 with Retry-After), hold a request until the test lets it through, or make
 * the body stall, reset, pause or carry a wrong byte after a given number of bytes, or send
 * its response headers a byte at a time. Runs
 * in the test process on 127.0.0.1.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ProxiedRequest {
  at: number;
  method: string;
  /** Path and query as received. */
  url: string;
  headers: IncomingHttpHeaders;
  status?: number;
  /** Body bytes sent to the client. */
  sent: number;
  fault?: string;
  /** When a stall, reset or pause took effect. */
  stoppedAt?: number;
  endedAt?: number;
}

export type FaultAction =
  | { kind: 'pass' }
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Forwarded only once `until` resolves: a transfer that waits for an event of the test. */
  | { kind: 'hold'; until: Promise<void> }
  | { kind: 'stall'; afterBytes: number }
  | { kind: 'reset'; afterBytes: number; corruptAt?: number }
  | { kind: 'corrupt'; atByte: number }
  | { kind: 'pause'; afterBytes: number; onPause: () => void }
  /** A slow-but-alive peer: a response head of endless headers, a byte every 200 ms. */
  | { kind: 'slowHead' };

export type FaultRule = (req: ProxiedRequest) => FaultAction | undefined;

export interface Proxy {
  url: string;
  host: string;
  requests: ProxiedRequest[];
  setRule(rule: FaultRule | undefined): void;
  /** Body bytes sent for requests whose URL includes `part`. */
  sentFor(part: string): number;
  close(): Promise<void>;
}

/** Spegel's answer when neither it nor a peer has the content (pkg/registry/registry.go: 404 with an OCI error body). */
export function spegelNotFound(url: string): FaultAction {
  const code = url.includes('/manifests/') ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN';
  return {
    kind: 'status',
    status: 404,
    body: JSON.stringify({ errors: [{ code, message: `could not get ${code === 'MANIFEST_UNKNOWN' ? 'manifest' : 'blob'}` }] }),
    headers: { 'content-type': 'application/json' },
  };
}

export async function startProxy(target: string, initial?: FaultRule): Promise<Proxy> {
  const t = new URL(target);
  let rule = initial;
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const rec: ProxiedRequest = { at: performance.now(), method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, sent: 0 };
    requests.push(rec);
    const action = rule?.(rec) ?? { kind: 'pass' };
    if (action.kind !== 'pass') rec.fault = action.kind;
    if (action.kind === 'status') {
      rec.status = action.status;
      res.writeHead(action.status, action.headers ?? {});
      res.end(action.body ?? '');
      rec.sent = Buffer.byteLength(action.body ?? '');
      rec.endedAt = performance.now();
      return;
    }
    if (action.kind === 'slowHead') {
      rec.stoppedAt = performance.now();
      // Raw bytes on the socket: node:http would send a whole head at once.
      const socket = res.socket!;
      socket.write('HTTP/1.1 200 OK\r\nx-padding: ');
      const t = setInterval(() => socket.write('a'), 200);
      socket.on('close', () => {
        clearInterval(t);
        rec.endedAt = performance.now();
      });
      return;
    }
    if (action.kind === 'hold') {
      void action.until.then(() => forward(req, res, rec, action));
      return;
    }
    forward(req, res, rec, action);
  });
  const forward = (req: IncomingMessage, res: ServerResponse, rec: ProxiedRequest, action: FaultAction) => {
    const headers = { ...req.headers, host: t.host };
    const up = httpRequest({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers }, (ures) => {
      rec.status = ures.statusCode;
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      let stopped = false;
      ures.on('data', (chunk: Buffer) => {
        if (stopped) return;
        let data = chunk;
        const limit = action.kind === 'stall' || action.kind === 'reset' || action.kind === 'pause' ? action.afterBytes : Infinity;
        if (rec.sent + data.length >= limit) {
          data = data.subarray(0, Math.max(0, limit - rec.sent));
          stopped = true;
        }
        const corruptAt = action.kind === 'corrupt' ? action.atByte : action.kind === 'reset' ? action.corruptAt : undefined;
        if (corruptAt !== undefined && rec.sent <= corruptAt && corruptAt < rec.sent + data.length) {
          data = Buffer.from(data);
          const i = corruptAt - rec.sent;
          data[i] = data[i]! ^ 0xff;
        }
        rec.sent += data.length;
        // Honour the client's pace: the registry is slowed down with it.
        if (data.length > 0 && !res.write(data)) {
          ures.pause();
          res.once('drain', () => {
            if (!stopped) ures.resume();
          });
        }
        if (!stopped) return;
        rec.stoppedAt = performance.now();
        ures.pause();
        if (action.kind === 'reset') {
          // Let the bytes out, then cut the connection.
          res.socket?.once('drain', () => res.socket?.destroy());
          setTimeout(() => res.socket?.destroy(), 50);
        } else if (action.kind === 'pause') {
          action.onPause();
        }
        // stall: nothing more is sent until the client gives up.
      });
      ures.on('end', () => {
        if (!stopped) res.end();
        rec.endedAt = performance.now();
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
    res.on('close', () => {
      up.destroy();
      rec.endedAt ??= performance.now();
    });
  };
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    setRule: (r) => {
      rule = r;
    },
    sentFor: (part) => requests.filter((r) => r.url.includes(part)).reduce((s, r) => s + r.sent, 0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A stand-in for Spegel's registry on one site node. Spegel itself needs Kubernetes and
 * libp2p, which cannot run here; this follows its mirror API as reference/spegel.md §2
 * records it (v0.7.4):
 * - GET /livez, GET /readyz, GET|HEAD /v2/ answer 200; anything unmatched is a bare 404;
 * - /v2/<repo>/manifests|blobs/<ref>?ns=<registry>: `ns` is required, tags only for manifests;
 * - without `X-Spegel-Mirrored: true`, content this node's containerd (namespace k8s.io)
 *   holds is served from its content store, anything else is fetched from a peer with
 *   `X-Spegel-Mirrored: true` (exactly one hop), a blob copy that breaks midway resumes
 *   with a Range request to the next peer, and when no peer has it the answer is a 404
 *   with Spegel's JSON body;
 * - local answers carry Content-Type, Content-Length, Docker-Content-Digest, OCI-Namespace
 *   (blobs also Accept-Ranges; a Range gives 206 with Content-Range, a bad one 400);
 *   mirrored answers carry Content-Type, Content-Length, Docker-Content-Digest (blobs also
 *   Accept-Ranges), 416 for an unsatisfiable range.
 * The one difference is routing: instead of the DHT, a static list of peers is asked in
 * order. Spegel's DHT only routes to nodes that advertise a key, and it advertises only
 * images with a registry in their name and content carrying containerd's
 * `containerd.io/distribution.source.*` labels; so a peer here answers a mirrored
 * request only for such content, and 404s the rest as if the lookup had not found it.
 *
 * Run: node bench/site/spegel-standin.ts --listen IP:PORT --containerd SOCKET
 *        --content DIR (containerd's io.containerd.content.v1.content) --peers IP:PORT,...
 * Each request is logged as one JSON line on stdout.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: { listen: { type: 'string' }, containerd: { type: 'string' }, content: { type: 'string' }, peers: { type: 'string', default: '' } },
});
if (!opts.listen || !opts.containerd || !opts.content) {
  process.stderr.write('usage: spegel-standin.ts --listen IP:PORT --containerd SOCKET --content DIR [--peers IP:PORT,...]\n');
  process.exit(2);
}
const listen = opts.listen;
const socket = opts.containerd;
const contentDir = opts.content;
const peers = opts.peers.split(',').filter(Boolean);

const MANIFEST_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);
const DISTRIBUTION_SOURCE = 'containerd.io/distribution.source.';
const PATH = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

interface Dist {
  repo: string;
  kind: 'manifests' | 'blobs';
  ref: string;
  registry: string;
}

/** What this node's containerd holds, refreshed from `ctr` at most every 200 ms. */
interface Holdings {
  /** digest → whether it carries a distribution-source label */
  content: Map<string, boolean>;
  /** image name → digest, for names with a registry in them */
  images: Map<string, string>;
}

let holdings: { at: number; value: Promise<Holdings> } | undefined;

async function ctr(args: string[]): Promise<string> {
  return (await promisify(execFile)('ctr', ['--address', socket, '-n', 'k8s.io', ...args], { maxBuffer: 64 << 20 })).stdout;
}

function readHoldings(): Promise<Holdings> {
  if (holdings && Date.now() - holdings.at < 200) return holdings.value;
  const value = (async () => {
    const content = new Map<string, boolean>();
    // Columns are tab-aligned (DIGEST SIZE AGE LABELS): several tabs may separate two of them.
    for (const line of (await ctr(['content', 'ls'])).split('\n').slice(1)) {
      const cols = line.split(/\t+/);
      const digest = cols[0]?.trim() ?? '';
      const labels = cols.length >= 4 ? cols[cols.length - 1]! : '';
      if (DIGEST.test(digest)) content.set(digest, labels.split(',').some((l) => l.startsWith(DISTRIBUTION_SOURCE)));
    }
    const images = new Map<string, string>();
    for (const line of (await ctr(['images', 'ls'])).split('\n').slice(1)) {
      const [name, , digest] = line.trim().split(/\s+/);
      if (name && digest && /^.+\//.test(name)) images.set(name, digest);
    }
    return { content, images };
  })();
  holdings = { at: Date.now(), value };
  value.catch(() => (holdings = undefined));
  return value;
}

/** The digest this node holds for `d`; `advertised` also requires what Spegel needs to advertise it. */
async function localDigest(d: Dist, advertised: boolean): Promise<string | undefined> {
  const h = await readHoldings();
  const digest = DIGEST.test(d.ref) ? d.ref : h.images.get(`${d.registry}/${d.repo}:${d.ref}`);
  if (!digest || !h.content.has(digest)) return undefined;
  if (advertised && !h.content.get(digest)) return undefined;
  return digest;
}

function blobFile(digest: string): string {
  return path.join(contentDir, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

/** Spegel fingerprints the media type from the content: the one a manifest names, else its shape. */
async function manifestType(file: string, size: number): Promise<string | undefined> {
  if (size > 4 << 20) return undefined;
  const fh = await open(file);
  try {
    const m = JSON.parse((await fh.readFile()).toString('utf8')) as { mediaType?: unknown; manifests?: unknown; config?: unknown; layers?: unknown };
    if (typeof m.mediaType === 'string') return MANIFEST_TYPES.has(m.mediaType) ? m.mediaType : undefined;
    if (Array.isArray(m.manifests)) return 'application/vnd.oci.image.index.v1+json';
    if (m.config && Array.isArray(m.layers)) return 'application/vnd.oci.image.manifest.v1+json';
    return undefined;
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}

type Range = { start: number; end?: number } | { suffix: number };

/** One `bytes=` range; undefined when absent; 'bad' for anything Spegel rejects. */
function parseRange(h: string | undefined): Range | undefined | 'bad' {
  if (h === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'bad';
  if (m[1] === '') return { suffix: Number(m[2]) };
  return { start: Number(m[1]), ...(m[2] === '' ? {} : { end: Number(m[2]) }) };
}

function resolveRange(r: Range, size: number): { start: number; end: number } | undefined {
  const span = 'suffix' in r ? { start: Math.max(0, size - r.suffix), end: size - 1 } : { start: r.start, end: Math.min(r.end ?? size - 1, size - 1) };
  return span.start <= span.end && span.start < size ? span : undefined;
}

function notFound(res: ServerResponse, d: Dist, message: string, attempts?: number): void {
  const code = d.kind === 'manifests' ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN';
  const body = JSON.stringify({ errors: [{ code, ...(attempts !== undefined ? { detail: { attempts } } : {}), message }] });
  res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

interface Served {
  status: number;
  source: string;
  bytes: number;
}

async function serveLocal(req: IncomingMessage, res: ServerResponse, d: Dist, digest: string, range: Range | undefined): Promise<Served> {
  const file = blobFile(digest);
  const { size } = await stat(file);
  const mt = await manifestType(file, size);
  const common = { 'docker-content-digest': digest, 'oci-namespace': d.registry };
  if (d.kind === 'manifests') {
    if (!mt) return notFound(res, d, `could not get manifest ${digest}`), { status: 404, source: 'local', bytes: 0 };
    res.writeHead(200, { ...common, 'content-type': mt, 'content-length': size });
    if (req.method === 'HEAD') return res.end(), { status: 200, source: 'local', bytes: 0 };
    return pipeFile(res, file, 0, size - 1, 200);
  }
  if (mt) return notFound(res, d, `could not get blob ${digest}`), { status: 404, source: 'local', bytes: 0 };
  const headers = { ...common, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
  if (range === undefined) {
    res.writeHead(200, { ...headers, 'content-length': size });
    if (req.method === 'HEAD') return res.end(), { status: 200, source: 'local', bytes: 0 };
    return pipeFile(res, file, 0, size - 1, 200);
  }
  const span = resolveRange(range, size);
  if (!span) return res.writeHead(400).end(), { status: 400, source: 'local', bytes: 0 };
  res.writeHead(206, { ...headers, 'content-length': span.end - span.start + 1, 'content-range': `bytes ${span.start}-${span.end}/${size}` });
  if (req.method === 'HEAD') return res.end(), { status: 206, source: 'local', bytes: 0 };
  return pipeFile(res, file, span.start, span.end, 206);
}

function pipeFile(res: ServerResponse, file: string, start: number, end: number, status: number): Promise<Served> {
  return new Promise((resolve) => {
    let bytes = 0;
    const s = createReadStream(file, { start, end, highWaterMark: 256 << 10 });
    s.on('data', (c) => (bytes += c.length));
    s.on('error', () => res.destroy());
    res.on('close', () => {
      s.destroy();
      resolve({ status, source: 'local', bytes });
    });
    s.pipe(res);
  });
}

const peerAgent = new Agent({ keepAlive: true, maxSockets: 64 });

/** One request to a peer; resolves with its response, or undefined when it cannot be reached. */
function askPeer(peer: string, method: string, d: Dist, range: string | undefined): Promise<IncomingMessage | undefined> {
  const [host, port] = [peer.slice(0, peer.lastIndexOf(':')), Number(peer.slice(peer.lastIndexOf(':') + 1))];
  const headers: Record<string, string> = { 'x-spegel-mirrored': 'true', 'user-agent': 'spegel' };
  if (range) headers['range'] = range;
  return new Promise((resolve) => {
    const r = request({ host, port, method, path: `/v2/${d.repo}/${d.kind}/${d.ref}?ns=${encodeURIComponent(d.registry)}`, headers, agent: peerAgent }, resolve);
    // HEAD and manifest requests have a 3 s budget; blob GETs none (dead peers refuse at once here).
    if (method === 'HEAD' || d.kind === 'manifests') r.setTimeout(3000, () => r.destroy());
    r.on('error', () => resolve(undefined));
    r.end();
  });
}

/** Copies a peer's body; resolves with the bytes copied and whether the body ended complete. */
function copyBody(up: IncomingMessage, res: ServerResponse): Promise<{ bytes: number; complete: boolean }> {
  return new Promise((resolve) => {
    let bytes = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      res.off('drain', onDrain);
      resolve({ bytes, complete: up.complete });
    };
    const onDrain = () => up.resume();
    res.on('drain', onDrain);
    up.on('data', (c: Buffer) => {
      bytes += c.length;
      if (!res.write(c)) up.pause();
    });
    up.on('end', finish);
    up.on('error', finish);
    up.on('close', finish);
    res.on('close', () => {
      up.destroy();
      finish();
    });
  });
}

/** Through the peers; a Range request is forwarded as it came. */
async function serveMirrored(req: IncomingMessage, res: ServerResponse, d: Dist): Promise<Served> {
  const method = req.method === 'HEAD' ? 'HEAD' : 'GET';
  let attempts = 0;
  const sources: string[] = [];
  let sent = 0;
  /** The requested span as absolute offsets, known once a peer tells the size. */
  let span: { start: number; end: number } | undefined;
  for (const peer of peers) {
    attempts++;
    const rangeHeader = span ? `bytes=${span.start + sent}-${span.end}` : req.headers['range'];
    const up = await askPeer(peer, method, d, rangeHeader);
    if (!up) continue;
    if (up.statusCode === 416 && !res.headersSent) {
      up.resume();
      res.writeHead(416).end();
      return { status: 416, source: peer, bytes: 0 };
    }
    if (up.statusCode !== 200 && up.statusCode !== 206) {
      up.resume();
      continue;
    }
    if (!res.headersSent) {
      const size = Number(/\/(\d+)$/.exec(String(up.headers['content-range'] ?? ''))?.[1] ?? up.headers['content-length']);
      span = up.statusCode === 206 ? { start: Number(/^bytes (\d+)-/.exec(String(up.headers['content-range']))?.[1]), end: Number(/-(\d+)\//.exec(String(up.headers['content-range']))?.[1]) } : { start: 0, end: size - 1 };
      const headers: Record<string, string | number> = {
        'content-type': up.headers['content-type'] ?? 'application/octet-stream',
        'content-length': up.headers['content-length'] ?? span.end - span.start + 1,
        'docker-content-digest': String(up.headers['docker-content-digest'] ?? ''),
      };
      if (d.kind === 'blobs') headers['accept-ranges'] = 'bytes';
      if (up.statusCode === 206) headers['content-range'] = String(up.headers['content-range']);
      res.writeHead(up.statusCode, headers);
      if (method === 'HEAD') {
        up.resume();
        res.end();
        return { status: up.statusCode, source: peer, bytes: 0 };
      }
    } else if (up.statusCode !== 206) {
      up.resume(); // a resumed copy needs exactly the rest
      continue;
    }
    sources.push(peer);
    const copied = await copyBody(up, res);
    sent += copied.bytes;
    if (copied.complete && span && span.start + sent > span.end) {
      res.end();
      return { status: res.statusCode, source: sources.join('+'), bytes: sent };
    }
    if (res.destroyed || d.kind !== 'blobs') break;
    // The peer went away midway: the rest comes from the next one, as Spegel resumes.
  }
  if (res.headersSent) {
    res.destroy();
    return { status: res.statusCode, source: sources.join('+') || 'none', bytes: sent };
  }
  notFound(res, d, `could not find peer for ${d.ref}`, attempts);
  return { status: 404, source: 'none', bytes: 0 };
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<Served> {
  const url = new URL(req.url ?? '/', 'http://standin');
  const get = req.method === 'GET';
  if (get && (url.pathname === '/livez' || url.pathname === '/readyz')) return res.writeHead(200).end(), { status: 200, source: 'probe', bytes: 0 };
  if ((get || req.method === 'HEAD') && (url.pathname === '/v2/' || url.pathname === '/v2')) return res.writeHead(200).end(), { status: 200, source: 'v2', bytes: 0 };
  const m = PATH.exec(url.pathname);
  const registry = url.searchParams.get('ns') ?? '';
  if (!m || !(get || req.method === 'HEAD') || registry === '') return res.writeHead(404).end(), { status: 404, source: 'unmatched', bytes: 0 };
  const d: Dist = { repo: m[1]!, kind: m[2] as Dist['kind'], ref: m[3]!, registry };
  if (d.kind === 'blobs' && !DIGEST.test(d.ref)) return res.writeHead(404).end(), { status: 404, source: 'unmatched', bytes: 0 };
  const range = parseRange(req.headers['range']);
  if (range === 'bad' || (range && d.kind === 'manifests')) return res.writeHead(404).end(), { status: 404, source: 'unmatched', bytes: 0 };
  const mirrored = req.headers['x-spegel-mirrored'] === 'true';
  const digest = await localDigest(d, mirrored);
  if (digest) return serveLocal(req, res, d, digest, range);
  if (mirrored) return notFound(res, d, `could not get ${d.kind === 'manifests' ? 'manifest' : 'blob'} ${d.ref}`), { status: 404, source: 'local', bytes: 0 };
  return serveMirrored(req, res, d);
}

const server = createServer((req, res) => {
  const started = Date.now();
  handle(req, res)
    .catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
      else res.destroy();
      return { status: 500, source: `error: ${String(err)}`, bytes: 0 };
    })
    .then((s) => {
      const line = { t: started, ms: Date.now() - started, method: req.method, url: req.url, range: req.headers['range'], mirrored: req.headers['x-spegel-mirrored'] === 'true', from: req.socket.remoteAddress, ...s };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    });
});
const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
server.listen(port, host, () => process.stdout.write(`${JSON.stringify({ listening: listen, peers })}\n`));
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));

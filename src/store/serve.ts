/**
 * The store as a read-only registry on 127.0.0.1, for the moment containerd pulls an image
 * from it (seeding): the distribution API's GET/HEAD of manifests by tag or digest and of
 * blobs by digest, answered from index.json and blobs/: for an image chosen from an index,
 * the index, every manifest and config it names, and the chosen platform's layers, which is
 * what containerd 2 fetches by default. The `ns` parameter names the registry a tag belongs to. An image still downloading is offered too: its manifests
 * from memory, and a request for one of its blobs is answered once the blob has landed.
 */
import { isDigest, type Digest } from '../registry/digest.ts';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listImages, storedManifests } from './images.ts';
import type { OciStore } from './oci-store.ts';
import type { PendingImage } from './pending-image.ts';
import { TransferStats } from './transfer-stats.ts';

export interface StoreServer {
  /** host:port */
  address: string;
  close(): Promise<void>;
}

const PATH = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/;

interface Found {
  digest: Digest;
  mediaType: string;
}

/** A manifest by tag (the image's top one) or by digest (any manifest a stored image holds). */
async function manifestFor(store: OciStore, registry: string, repo: string, ref: string): Promise<Found | undefined> {
  for (const image of await listImages(store, await TransferStats.load(store.dir))) {
    const manifests = storedManifests(image);
    if (!isDigest(ref)) {
      if (image.ref === `${registry}/${repo}:${ref}`) return manifests[0];
      continue;
    }
    const found = manifests.find((d) => d.digest === ref);
    if (found) return found;
  }
  return undefined;
}

export async function serveStore(store: OciStore, pending?: PendingImage): Promise<StoreServer> {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://store');
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405).end();
    if (url.pathname === '/v2/' || url.pathname === '/v2') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const m = PATH.exec(url.pathname);
    if (!m) return void res.writeHead(404).end();
    const [, repo, kind, ref] = m as unknown as [string, string, string, string];
    const registry = url.searchParams.get('ns') ?? '';
    let found: Found | undefined;
    if (kind === 'manifests') {
      const m = pending?.manifest(`${registry}/${repo}`, ref);
      if (m) {
        res.writeHead(200, { 'content-type': m.mediaType, 'content-length': m.bytes.length, 'docker-content-digest': m.digest });
        return void res.end(req.method === 'HEAD' ? undefined : m.bytes);
      }
      found = await manifestFor(store, registry, repo, ref);
    } else if (isDigest(ref) && ((await store.hasBlob(ref)) || (await pending?.landing(ref)))) {
      found = { digest: ref, mediaType: 'application/octet-stream' };
    }
    if (!found)
      return void res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ errors: [{ code: kind === 'manifests' ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN', message: `${ref} is not in the store` }] }));
    const file = store.blobPath(found.digest);
    const size = (await stat(file)).size;
    res.writeHead(200, { 'content-type': found.mediaType, 'content-length': size, 'docker-content-digest': found.digest });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

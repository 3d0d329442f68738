/**
 * Seeding: the image goes from the store into the node's containerd (namespace k8s.io) as
 * a normal pull would put it there, so Spegel advertises it to the peers and the Kairos
 * operator's upgrade pod finds it present. containerd pulls it by its own name from the
 * store, served on a loopback port and named as the registry's server in a temporary
 * hosts dir: the content then carries the `containerd.io/distribution.source.<registry>`
 * labels Spegel needs (an `images import` would not set them).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AgentError, errnoCode, errorMessage } from '../errors.ts';
import type { Root } from '../fs/root.ts';
import type { Logger } from '../log/logger.ts';
import type { Layout } from '../mirror/layout.ts';
import { parseImageRef } from '../registry/reference.ts';
import type { StoredImage } from '../store/images.ts';
import type { OciStore } from '../store/oci-store.ts';
import { serveStore } from '../store/serve.ts';

export interface SeedResult {
  ref: string;
  /** What containerd recorded the image as (the top-level digest). */
  digest: string;
}

const NAMESPACE = 'k8s.io';

export async function seedImage(opts: { root: Root; layout: Layout; store: OciStore; image: StoredImage; log: Logger }): Promise<SeedResult | undefined> {
  const { layout, log, image } = opts;
  const socket = opts.root.path(layout.socket);
  try {
    if (!(await stat(socket)).isSocket()) throw new Error('not a socket');
  } catch (err) {
    log.warn({ socket: layout.socket, reason: errnoCode(err) ?? errorMessage(err) }, "no containerd to seed: peers will not get this image from this node until containerd runs and the image is pulled; set containerd.socket if it lives elsewhere");
    return undefined;
  }
  const ref = parseImageRef(image.ref);
  const server = await serveStore(opts.store);
  const hostsDir = await mkdtemp(path.join(tmpdir(), 'kairos-spegel-seed-'));
  try {
    await mkdir(path.join(hostsDir, ref.registry));
    await writeFile(path.join(hostsDir, ref.registry, 'hosts.toml'), `server = "http://${server.address}"\n\n[host."http://${server.address}"]\n  capabilities = ["pull", "resolve"]\n`);
    const [cmd, ...pre] = layout.ctr;
    const args = [...pre, '--address', socket, '-n', NAMESPACE, 'images', 'pull', '--hosts-dir', hostsDir, image.ref];
    try {
      await promisify(execFile)(cmd!, args, { maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new AgentError('E_SEED', `${layout.ctr.join(' ')} could not pull ${image.ref} from the store: ${(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' ')}`, {
        hint: 'check that containerd runs and containerd.socket / containerd.ctr name it',
      });
    }
    const digest = image.indexDigest ?? image.manifest.digest;
    log.info({ image: image.ref, digest, namespace: NAMESPACE }, 'seeded into containerd');
    return { ref: image.ref, digest };
  } finally {
    await server.close();
    await rm(hostsDir, { recursive: true, force: true });
  }
}

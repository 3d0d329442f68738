/**
 * Seeding: the image goes from the store into the node's containerd (namespace k8s.io) as
 * a normal pull would put it there, so Spegel advertises it to the peers and the Kairos
 * operator's upgrade pod finds it present. containerd pulls it by its own name from the
 * store, served on a loopback port and named as the registry's server in a temporary
 * hosts dir: the content then carries the `containerd.io/distribution.source.<registry>`
 * labels Spegel needs (an `images import` would not set them).
 *
 * containerd fetches the content and records the image (`ctr content fetch`) without
 * unpacking it into snapshots: Spegel serves content, and a pod that runs the image has
 * containerd unpack it then (CRI does so on demand), so the node keeps one compressed
 * copy of a multi-GB upgrade image instead of also an unpacked one.
 *
 * With `--all-metadata` containerd takes, for an index, every manifest and config it
 * names (the other platforms' and the attestation manifests too) and the chosen
 * platform's layers. containerd 2 does so by default (the flag is kept, hidden, for
 * compatibility), and so does a peer's pull through Spegel, which asks this node for
 * them; containerd 1.x needs the flag. The store holds exactly that set.
 *
 * A command that downloads starts seeding as soon as the manifests are known: containerd
 * then takes each blob the moment it lands, so peers can fetch it from this node while
 * the rest still downloads.
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
import type { PendingImage } from '../store/pending-image.ts';
import { serveStore } from '../store/serve.ts';
import { updateState } from '../store/node-state.ts';

export interface SeedResult {
  ref: string;
  /** What containerd recorded the image as (the top-level digest). */
  digest: string;
}

export interface SeedEnv {
  root: Root;
  layout: Layout;
  store: OciStore;
  log: Logger;
  /** os/arch[/variant] of the stored image: the store holds only that platform's layers. */
  platform: string;
}

const NAMESPACE = 'k8s.io';

/** The node's containerd socket, or undefined (with a warning) when none runs there. */
async function containerdSocket(env: SeedEnv): Promise<string | undefined> {
  const socket = env.root.path(env.layout.socket);
  try {
    if (!(await stat(socket)).isSocket()) throw new Error('not a socket');
    return socket;
  } catch (err) {
    env.log.warn(
      { socket: env.layout.socket, reason: errnoCode(err) ?? errorMessage(err) },
      'no containerd to seed: peers will not get this image from this node until containerd runs and the image is pulled; set containerd.socket if it lives elsewhere',
    );
    return undefined;
  }
}

/** containerd pulls `ref` from the store (or from `pending` while it downloads). */
async function seed(env: SeedEnv, ref: string, digest: string, pending?: PendingImage, signal?: AbortSignal): Promise<SeedResult | undefined> {
  const socket = await containerdSocket(env);
  if (!socket) return undefined;
  const registry = parseImageRef(ref).registry;
  const server = await serveStore(env.store, pending);
  const hostsDir = await mkdtemp(path.join(tmpdir(), 'kairos-spegel-seed-'));
  try {
    await mkdir(path.join(hostsDir, registry));
    await writeFile(path.join(hostsDir, registry, 'hosts.toml'), `server = "http://${server.address}"\n\n[host."http://${server.address}"]\n  capabilities = ["pull", "resolve"]\n`);
    const [cmd, ...pre] = env.layout.ctr;
    const args = [...pre, '--address', socket, '-n', NAMESPACE, 'content', 'fetch', '--platform', env.platform, '--all-metadata', '--hosts-dir', hostsDir, ref];
    try {
      await promisify(execFile)(cmd!, args, { maxBuffer: 16 * 1024 * 1024, ...(signal ? { signal } : {}) });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new AgentError('E_SEED', `${env.layout.ctr.join(' ')} could not pull ${ref} from the store: ${(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' ')}`, {
        hint: 'check that containerd runs and containerd.socket / containerd.ctr name it',
      });
    }
    env.log.info({ image: ref, digest, namespace: NAMESPACE }, 'seeded into containerd');
    return { ref, digest };
  } finally {
    await server.close();
    await rm(hostsDir, { recursive: true, force: true });
  }
}

/** Seeds an image the store holds completely. */
function seedImage(env: SeedEnv, image: StoredImage): Promise<SeedResult | undefined> {
  return seed(env, image.ref, (image.index ?? image.manifest).digest);
}

/**
 * Seeding for a command that may download: `onPending` starts it while the blobs
 * download; `finish` waits for it, seeds again from the complete store if that failed
 * (or never started), and records what containerd holds in the state file.
 */
export class Seeding {
  private readonly env: SeedEnv;
  private readonly stateFile: string;
  private readonly abort = new AbortController();
  private streaming?: Promise<SeedResult | undefined>;

  constructor(env: SeedEnv, stateFile: string) {
    this.env = env;
    this.stateFile = stateFile;
  }

  readonly onPending = (image: PendingImage): void => {
    this.streaming = seed(this.env, image.refName, image.top.digest, image, this.abort.signal);
    this.streaming.catch(() => undefined); // awaited in finish(); a pull that fails first cancels it
  };

  async finish(image: StoredImage): Promise<SeedResult | undefined> {
    let seeded: SeedResult | undefined;
    try {
      seeded = this.streaming ? await this.streaming : await seedImage(this.env, image);
    } catch (err) {
      if (!this.streaming) throw err;
      this.env.log.warn({ reason: errorMessage(err) }, 'handing the image to containerd while it downloaded failed; seeding it again from the store');
      seeded = await seedImage(this.env, image);
    }
    if (seeded) await updateState(this.stateFile, (s) => (s.seeded[image.ref] = { digest: seeded.digest, at: new Date().toISOString() }));
    return seeded;
  }

  /** Stops a seeding under way (the pull failed: it would wait for blobs that never come). */
  cancel(): void {
    this.abort.abort();
  }
}

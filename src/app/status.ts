/** `status`: what is stored, staged, seeded and applied on this node, and the WAN bytes peers saved. */
import type { AgentConfig } from '../config/agent-config.ts';
import type { AppEnv } from './env.ts';
import { bytesBySource, type Bytes } from './bytes.ts';
import { pullInProgress, type InProgress } from './in-progress.ts';
import { loadNodeContext } from './node-context.ts';
import { AgentError } from '../errors.ts';
import { detectNodeIp, type NodeIp } from '../node/node-ip.ts';
import { readSystemFacts, type InterfaceFacts, type SystemFacts } from '../node/system-facts.ts';
import { freeSpace, storeSize } from '../store/free-space.ts';
import { readStoredImages } from '../store/images.ts';
import { readState } from '../store/node-state.ts';
import { listStaged } from '../unpack/staging.ts';
import { readKairosVersion } from '../upgrade/kairos-release.ts';

export interface StatusImage {
  image: string;
  manifest: string;
  size: number;
  bytes: Bytes;
  staged: { rootfs: string; version: string | null } | null;
  seeded: { digest: string; at: string } | null;
}

export interface AppliedUpgrade {
  image: string;
  manifest: string;
  version: string | null;
  recovery: boolean;
  at: string;
  result: 'applied' | 'failed';
}

export interface StatusResult {
  /** The Kairos version the node runs (its /etc/kairos-release), null when it has none. */
  installed: string | null;
  store: string;
  /** Bytes of the store's files, partial downloads included. */
  store_size: number;
  /** Bytes available on the store's filesystem. */
  store_free: number;
  images: StatusImage[];
  /** Oldest first, the last 20. */
  applied: AppliedUpgrade[];
  /** Every pull so far. */
  bytes: Bytes;
  /** The node's facts, with --system; null without. */
  system: NodeSystem | null;
  /** A pull another run is doing on the store now. */
  in_progress: InProgress | null;
}

export interface NodeSystem extends Omit<SystemFacts, 'interfaces'> {
  /** The address `configure` points containerd at, null when there is none now. */
  node_ip: { ip: string; iface: string | null; source: NodeIp['source'] } | null;
  interfaces: (InterfaceFacts & { node_ip: boolean })[] | null;
}

export interface StatusRequest {
  system: boolean;
}

export async function nodeStatus(env: AppEnv, req: StatusRequest): Promise<StatusResult> {
  const ctx = await loadNodeContext(env);
  const storeDir = env.root.path(ctx.agent.store.path);
  const { stats, images } = await readStoredImages(storeDir);
  // The path, not stage-image's helper: importing that module would load the pull engine (undici) with status.
  const staged = await listStaged(env.root.path(ctx.agent.upgrade.staging_path));
  const state = await readState(env.root.path(ctx.agent.upgrade.state_file));
  const installed = await readKairosVersion(env.root.path('/'));
  const rows = await Promise.all(
    images.map(async (i): Promise<StatusImage> => {
      const s = staged.find((x) => x.manifest === i.manifest.digest);
      return {
        image: i.ref,
        manifest: i.manifest.digest,
        size: i.size,
        bytes: bytesBySource(i.bytes),
        staged: s ? { rootfs: s.rootfs, version: (await readKairosVersion(s.rootfs))?.triple ?? null } : null,
        seeded: state.seeded[i.ref] ?? null,
      };
    }),
  );
  return {
    installed: installed?.triple ?? null,
    store: ctx.agent.store.path,
    store_size: await storeSize(storeDir),
    store_free: await freeSpace(storeDir),
    images: rows,
    applied: state.applied.map((a) => ({ image: a.ref, manifest: a.manifest, version: a.version ?? null, recovery: a.recovery, at: a.at, result: a.result })),
    bytes: bytesBySource(stats.total),
    system: req.system ? await nodeSystem(env, ctx.agent) : null,
    in_progress: await pullInProgress(storeDir),
  };
}

async function nodeSystem(env: AppEnv, agent: AgentConfig): Promise<NodeSystem> {
  const facts = await readSystemFacts(env.root.path(agent.store.path));
  const notes = [...facts.notes];
  let nodeIp: NodeIp | null = null;
  try {
    // The same choice as configure's and health's, without waiting for an address to come.
    nodeIp = await detectNodeIp({ nodeIp: agent.node_ip, iface: agent.interface, waitMs: 0 });
  } catch (err) {
    if (!(err instanceof AgentError)) throw err;
    notes.push(`node_ip: ${err.message}`);
  }
  // A configured node_ip names no interface: the one holding that address is the one used.
  const marked = (i: InterfaceFacts) => nodeIp !== null && (nodeIp.iface !== undefined ? i.name === nodeIp.iface : i.ipv4 === nodeIp.ip || i.ipv6 === nodeIp.ip);
  return {
    os: facts.os,
    cpu: facts.cpu,
    memory: facts.memory,
    store_filesystem: facts.store_filesystem,
    node_ip: nodeIp && { ip: nodeIp.ip, iface: nodeIp.iface ?? null, source: nodeIp.source },
    interfaces: facts.interfaces?.map((i) => ({ ...i, node_ip: marked(i) })) ?? null,
    notes,
  };
}

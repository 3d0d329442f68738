/**
 * What the node is (`status --system`): OS and kernel, CPU, memory, the file system that holds
 * the store, and the network interfaces, read through systeminformation. It spawns commands
 * and reads /proc and /sys, any of which can fail on an odd node (a container, a minimal
 * flavor): each fact that cannot be read is null with a note, never a failed command.
 */
import { stat } from 'node:fs/promises';
import { errorMessage } from '../errors.ts';
import { nearestExisting } from '../fs/path-exists.ts';

export interface OsFacts {
  distro: string;
  release: string;
  kernel: string;
}

export interface CpuFacts {
  brand: string;
  /** Logical cores, as the scheduler sees them. */
  cores: number;
}

export interface MemoryFacts {
  total: number;
  /** What can be allocated without swapping (MemAvailable). */
  available: number;
}

export interface FilesystemFacts {
  /** The store's directory (or its nearest existing parent) on this machine. */
  path: string;
  mount: string;
  fs: string;
  type: string;
  size: number;
  available: number;
}

export interface InterfaceFacts {
  name: string;
  mac: string | null;
  ipv4: string | null;
  ipv6: string | null;
  state: string | null;
}

export interface SystemFacts {
  os: OsFacts | null;
  cpu: CpuFacts | null;
  memory: MemoryFacts | null;
  store_filesystem: FilesystemFacts | null;
  interfaces: InterfaceFacts[] | null;
  /** Why a fact is null. */
  notes: string[];
}

/** The part of systeminformation used here; tests hand in a stand-in. */
export type SystemInformation = Pick<typeof import('systeminformation'), 'osInfo' | 'cpu' | 'mem' | 'fsSize' | 'networkInterfaces'>;

/** `storePath`: the store's directory on this machine (--root applied). */
export async function readSystemFacts(storePath: string, si?: SystemInformation): Promise<SystemFacts> {
  // Loaded here, not at the top: only `status --system` pays for it, and nothing of it runs at start-up.
  const lib = si ?? (await import('systeminformation'));
  const notes: string[] = [];
  const fact = async <T>(name: string, read: () => Promise<T | string>): Promise<T | null> => {
    try {
      const v = await read();
      if (typeof v !== 'string') return v;
      notes.push(`${name}: ${v}`);
    } catch (err) {
      notes.push(`${name}: ${errorMessage(err)}`);
    }
    return null;
  };
  const [os, cpu, memory, store_filesystem, interfaces] = await Promise.all([
    fact<OsFacts>('os', async () => {
      const o = await lib.osInfo();
      return o.kernel === '' ? 'the kernel release is unknown' : { distro: o.distro, release: o.release, kernel: o.kernel };
    }),
    fact<CpuFacts>('cpu', async () => {
      const c = await lib.cpu();
      return c.cores > 0 ? { brand: [c.manufacturer, c.brand].filter((s) => s !== '').join(' '), cores: c.cores } : 'no CPU found';
    }),
    fact<MemoryFacts>('memory', async () => {
      const m = await lib.mem();
      return m.total > 0 ? { total: m.total, available: m.available } : 'the memory size is unknown';
    }),
    fact<FilesystemFacts>('store_filesystem', async () => {
      // The store may not exist yet: its file system is the one that will hold it.
      const at = await nearestExisting(storePath);
      const fs = mountHolding(at, await lib.fsSize());
      // systeminformation leaves out file systems without a device (tmpfs, for one): then the
      // deepest mount it lists is a parent's, whose free space is not the store's.
      if (fs === undefined || (await stat(fs.mount)).dev !== (await stat(at)).dev) return `the file system holding ${at} is not listed (tmpfs and other file systems without a device are not)`;
      return { path: at, mount: fs.mount, fs: fs.fs, type: fs.type, size: fs.size, available: fs.available };
    }),
    fact<InterfaceFacts[]>('interfaces', async () => {
      const list = await lib.networkInterfaces();
      const all = Array.isArray(list) ? list : [list];
      return all.length === 0 ? 'no network interface found' : all.map((n) => ({ name: n.iface, mac: n.mac || null, ipv4: n.ip4 || null, ipv6: n.ip6 || null, state: n.operstate || null }));
    }),
  ]);
  return { os, cpu, memory, store_filesystem, interfaces, notes };
}

/**
 * The mount with the longest mount point that contains `p`. On one mount point the last one
 * listed wins: it was mounted over the others, which it hides.
 */
export function mountHolding<M extends { mount: string }>(p: string, mounts: M[]): M | undefined {
  const inside = (m: string) => m === '/' || p === m || p.startsWith(`${m}/`);
  let best: M | undefined;
  for (const m of mounts) if (inside(m.mount) && (best === undefined || m.mount.length >= best.mount.length)) best = m;
  return best;
}

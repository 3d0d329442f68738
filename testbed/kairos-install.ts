/**
 * An installed Kairos node for the real kairos-agent: a node root (kairos-node.ts) booted from
 * COS_ACTIVE on a disposable disk (kairos-disk.ts) whose active.img holds the installed
 * version, with the node's cloud-config (an admin user, a small transition image, the
 * `kairos-spegel:` block). `kairosSpegel()` runs the built agent inside it, as `chroot /host`
 * from a NodeOp pod or a shell on the node would.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AGENT, assertCleanOutput } from './agent.ts';
import { createKairosDisk, type KairosDisk } from './kairos-disk.ts';
import { KairosNode, type NodeRunOptions } from './kairos-node.ts';
import { DIST } from './package.ts';
import type { RunResult } from './proc.ts';

/** The kernel command line of a node booted from the active system (kairos-agent reads its boot state here). */
export const ACTIVE_CMDLINE = 'BOOT_IMAGE=/cOS/active.img console=tty1 root=LABEL=COS_ACTIVE cos-img/filename=/cOS/active.img panic=5';

export interface InstalledNode {
  node: KairosNode;
  disk: KairosDisk;
  /** Runs `kairos-spegel ARGS` on the node (its root as /, booted from COS_ACTIVE). */
  kairosSpegel(args: string[], opts?: Omit<NodeRunOptions, 'cmdline' | 'binds'>): Promise<RunResult>;
  /** The same, as [command, args] for a test that signals the process (it is the agent itself: every step execs). */
  kairosSpegelCommand(args: string[], opts?: Omit<NodeRunOptions, 'cmdline' | 'binds'>): [string, string[]];
  /** What `/etc/kairos-release` says in cOS/<image> on the disk (undefined: no such image). */
  release(image: 'active.img' | 'passive.img'): Promise<string | undefined>;
  destroy(): Promise<void>;
}

export interface InstallOptions {
  /** The installed system's /etc/kairos-release. */
  release: string;
  /** The kairos-agent binary (a pinned build); `upgrade.kairos_agent` names it unless `kairosSpegel` does. */
  kairosAgent: string;
  /** Lines of the `kairos-spegel:` block, indented by two spaces. */
  kairosSpegel?: string[];
  /** Host directories the node must see (what `kairos_agent` or other paths in the config name). */
  binds?: string[];
  /** Size of the state partition (default: room for active, passive and a 128 MiB transition image). */
  stateMiB?: number;
}

export async function installKairosNode(dir: string, opts: InstallOptions): Promise<InstalledNode> {
  const node = KairosNode.prepare(path.join(dir, 'root'));
  const old = path.join(dir, 'installed');
  mkdirSync(path.join(old, 'etc'), { recursive: true });
  mkdirSync(path.join(old, 'usr/bin'), { recursive: true });
  writeFileSync(path.join(old, 'etc/kairos-release'), opts.release);
  node.write('/etc/kairos-release', opts.release);
  node.write(
    '/oem/90_node.yaml',
    [
      '#cloud-config',
      'users:',
      '  - {name: kairos, passwd: kairos, groups: [admin]}',
      '# A small transition image (the default is 3 GiB).',
      'upgrade: {system: {size: 128}}',
      'kairos-spegel:',
      ...(opts.kairosSpegel ?? []),
      ...(opts.kairosSpegel?.some((l) => /^ {2}upgrade:/.test(l)) ? [] : [`  upgrade: {kairos_agent: ${opts.kairosAgent}}`]),
      '',
    ].join('\n'),
  );
  const disk = await createKairosDisk(dir, node, old, opts.stateMiB ? { stateMiB: opts.stateMiB } : {});
  const binds = [DIST, path.dirname(opts.kairosAgent), ...(opts.binds ?? [])];
  const withNode = (o: Omit<NodeRunOptions, 'cmdline' | 'binds'> = {}): NodeRunOptions => ({
    ...o,
    cmdline: ACTIVE_CMDLINE,
    binds,
    env: { KAIROS_SPEGEL_NATIVE_ADDON: process.env['KAIROS_SPEGEL_NATIVE_ADDON'] ?? '', ...o.env },
  });
  return {
    node,
    disk,
    kairosSpegel: async (args, o) => {
      const r = await node.run([AGENT, ...args], withNode(o));
      assertCleanOutput(`kairos-spegel ${args.join(' ')}`, r);
      return r;
    },
    kairosSpegelCommand: (args, o) => node.command([AGENT, ...args], withNode(o)),
    release: (image) => disk.readImageFile(image, 'etc/kairos-release'),
    destroy: () => disk.detach(),
  };
}

/** A real containerd inside a test node, with its own root, state and socket; 2.2 unless a test picks another build. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestNode } from './netns.ts';
import { defaultContainerd, peerBinary, type ContainerdBuild } from './peers.ts';
import { run, startDaemon, waitFor, type Daemon, type RunResult } from './proc.ts';

export interface Containerd extends Daemon {
  build: ContainerdBuild;
  socket: string;
  /** containerd's root: the content store is under io.containerd.content.v1.content. */
  root: string;
  ctr(args: string[]): Promise<RunResult>;
  /** crictl against containerd's CRI plugin: the path the kubelet's pulls take. */
  crictl(args: string[]): Promise<RunResult>;
}

export interface ContainerdOptions {
  build?: ContainerdBuild;
  /** config.toml's version: 2 (default; every containerd of the matrix reads it) or 3 (containerd 2 only). */
  configVersion?: 2 | 3;
  /** Extra lines for config.toml, in the form of its version. */
  config?: string[];
  /**
   * A directory containerd sees as /etc/containerd, in a private mount namespace: for what it
   * reads from its built-in paths (the default config_path), without touching this machine's /etc.
   */
  etcContainerd?: string;
}

export async function startContainerd(node: TestNode, dir: string, hostsDir: string | undefined, opts: ContainerdOptions = {}): Promise<Containerd> {
  const build = opts.build ?? defaultContainerd();
  const base = path.join(dir, 'containerd');
  mkdirSync(base, { recursive: true });
  const socket = path.join(base, 'containerd.sock');
  const config = path.join(base, 'config.toml');
  const version = opts.configVersion ?? 2;
  const registryTable = version === 3 ? 'plugins."io.containerd.cri.v1.images".registry' : 'plugins."io.containerd.grpc.v1.cri".registry';
  writeFileSync(
    config,
    [
      `version = ${version}`,
      `root = "${base}/root"`,
      `state = "${base}/state"`,
      '[grpc]',
      `  address = "${socket}"`,
      ...(hostsDir !== undefined ? [`[${registryTable}]`, `  config_path = "${hostsDir}"`] : []),
      // NRI listens on one machine-wide socket (/var/run/nri/nri.sock): a second containerd
      // would fail to start on it, and a killed one leaves it behind. Nothing here uses NRI.
      '[plugins."io.containerd.nri.v1.nri"]',
      '  disable = true',
      ...(opts.config ?? []),
      '',
    ].join('\n'),
  );
  const [cmd, args] = opts.etcContainerd
    ? node.exec('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$0" /etc/containerd && exec "$@"', opts.etcContainerd, build.containerd, '--config', config])
    : node.exec(build.containerd, ['--config', config]);
  const d = startDaemon(cmd, args, path.join(base, 'containerd.log'));
  await waitFor(`${build.label} socket`, () => existsSync(socket) || d.proc.exitCode !== null);
  if (d.proc.exitCode !== null) throw new Error(`${build.label} exited (${d.proc.exitCode}):\n${d.readLog()}`);
  await waitFor(`${build.label} to answer`, async () => (await run(build.ctr, ['--address', socket, 'version'])).code === 0);
  return {
    ...d,
    build,
    socket,
    root: path.join(base, 'root'),
    ctr: (a) => {
      const [c, x] = node.exec(build.ctr, ['--address', socket, ...a]);
      return run(c, x, { timeoutMs: 120_000 });
    },
    crictl: (a) => {
      const endpoint = `unix://${socket}`;
      const [c, x] = node.exec(peerBinary('crictl'), ['--runtime-endpoint', endpoint, '--image-endpoint', endpoint, ...a]);
      return run(c, x, { timeoutMs: 120_000 });
    },
  };
}

/** A real containerd inside a test node, with its own root, state and socket. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestNode } from './netns.ts';
import { run, startDaemon, waitFor, type Daemon, type RunResult } from './proc.ts';

export interface Containerd extends Daemon {
  socket: string;
  ctr(args: string[]): Promise<RunResult>;
}

export async function startContainerd(node: TestNode, dir: string, hostsDir: string): Promise<Containerd> {
  const base = path.join(dir, 'containerd');
  mkdirSync(base, { recursive: true });
  const socket = path.join(base, 'containerd.sock');
  const config = path.join(base, 'config.toml');
  writeFileSync(
    config,
    [
      'version = 2',
      `root = "${base}/root"`,
      `state = "${base}/state"`,
      '[grpc]',
      `  address = "${socket}"`,
      '[plugins."io.containerd.grpc.v1.cri".registry]',
      `  config_path = "${hostsDir}"`,
      '',
    ].join('\n'),
  );
  const [cmd, args] = node.exec('containerd', ['--config', config]);
  const d = startDaemon(cmd, args, path.join(base, 'containerd.log'));
  await waitFor('containerd socket', () => existsSync(socket));
  await waitFor('containerd to answer', async () => (await run('ctr', ['--address', socket, 'version'])).code === 0);
  return {
    ...d,
    socket,
    ctr: (a) => {
      const [c, x] = node.exec('ctr', ['--address', socket, ...a]);
      return run(c, x, { timeoutMs: 120_000 });
    },
  };
}


/** `status --system`, by the binary: its facts against what this machine's own tools say. */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { NodeSystem, StatusResult } from '../../src/app/status.ts';
import { runAgent } from '../../testbed/agent.ts';
import { createNode, type TestNode } from '../../testbed/netns.ts';
import { must } from '../../testbed/proc.ts';
import { tempDir } from '../../testbed/tmp.ts';

const MB = 1024 * 1024;

async function system(args: string[], node?: TestNode): Promise<NodeSystem> {
  const r = await runAgent(['--config', '/dev/null', '--json', ...args, 'status', '--system'], { node });
  expect(r.code, r.stderr).toBe(0);
  const { system } = JSON.parse(r.stdout) as StatusResult;
  expect(system).not.toBeNull();
  return system!;
}

async function configuredNodeIp(node?: TestNode): Promise<string> {
  const r = await runAgent(['--root', tempDir(), '--config', '/dev/null', '--json', 'configure', '--dry-run'], { node });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { node_ip: string }).node_ip;
}

describe('status --system', () => {
  const nodes: TestNode[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.destroy();
  });

  it('reports the kernel, memory, CPU and the free space of the file system under --root', async () => {
    const root = tempDir();
    const s = await system(['--root', root]);
    expect(s.notes).toEqual([]);
    expect(s.os?.kernel).toBe((await must('uname', ['-r'])).trim());
    const memTotal = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
    expect(s.memory?.total).toBe(memTotal);
    expect(s.memory!.available).toBeGreaterThan(0);
    expect(s.memory!.available).toBeLessThanOrEqual(memTotal);
    expect(s.cpu?.cores).toBe(Number((await must('nproc', ['--all'])).trim()));
    // The store (default /usr/local/kairos-spegel/store) does not exist under root yet: its file system is root's.
    const [, df] = (await must('df', ['-B1', '--output=target,size', root])).trim().split('\n');
    const [mount, size] = df!.trim().split(/\s+/);
    expect(s.store_filesystem).toMatchObject({ path: root, mount });
    // systeminformation reads df in KiB: a file system with 512-byte blocks rounds.
    expect(Math.abs(s.store_filesystem!.size - Number(size))).toBeLessThan(MB);
    // Free space on this shared file system moves while other tests write (CI runs them
    // beside this one); the exact figure is checked on an idle file system of its own below.
    expect(s.store_filesystem!.available).toBeGreaterThan(0);
    expect(s.store_filesystem!.available).toBeLessThanOrEqual(Number(size));
    expect(s.node_ip?.ip).toBe(await configuredNodeIp());
  });

  it('takes the store on its own file system, under --root', async () => {
    const root = tempDir();
    const store = `${root}/usr/local/kairos-spegel/store`;
    await must('mkdir', ['-p', store]);
    await must('truncate', ['-s', '64M', `${root}/disk.img`]);
    await must('mkfs.ext4', ['-q', `${root}/disk.img`]);
    await must('mount', ['-o', 'loop', `${root}/disk.img`, store]);
    try {
      const s = await system(['--root', root]);
      const [, df] = (await must('df', ['-B1', '--output=source,size,avail', store])).trim().split('\n');
      const [source, size, avail] = df!.trim().split(/\s+/);
      expect(s.store_filesystem).toMatchObject({ path: store, mount: store, fs: source, type: 'ext4', size: Number(size), available: Number(avail) });
    } finally {
      await must('umount', [store]);
    }
  });

  it('leaves out the free space of a store on a file system systeminformation does not list, rather than report its parent', async () => {
    const root = tempDir();
    const store = `${root}/usr/local/kairos-spegel/store`;
    await must('mkdir', ['-p', store]);
    await must('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'kstest', store]);
    try {
      const s = await system(['--root', root]);
      expect(s.store_filesystem).toBeNull();
      expect(s.notes).toEqual([`store_filesystem: the file system holding ${store} is not listed (tmpfs and other file systems without a device are not)`]);
      expect(s.os).not.toBeNull();
    } finally {
      await must('umount', [store]);
    }
  });

  it("marks the interface configure takes the node IP from, inside a node's network namespace", async () => {
    const node = await createNode({ ip: '10.66.0.9' });
    nodes.push(node);
    const s = await system(['--root', tempDir()], node);
    expect(s.node_ip).toEqual({ ip: await configuredNodeIp(node), iface: 'eth0', source: 'default-route' });
    expect(s.interfaces?.filter((i) => i.node_ip)).toEqual([expect.objectContaining({ name: 'eth0', ipv4: '10.66.0.9', state: 'up' })]);
    expect(s.interfaces?.map((i) => i.name).sort()).toEqual(['eth0', 'lo']);
  });
});

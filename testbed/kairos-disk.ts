/**
 * A disposable Kairos disk for the real `kairos-agent upgrade`: a sparse file on a loop
 * device with the two partitions the upgrade needs, COS_RECOVERY and COS_STATE (ext4), the
 * state partition holding `cOS/active.img` (ext2, label COS_ACTIVE) made from a given root
 * filesystem. kairos-agent learns partition labels and types only from the udev database
 * (ghw reads /run/udev/data/b<major>:<minor>), so they are published there, in the node root's
 * own /run. Read back with `readImageFile`, in a private mount namespace.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KairosNode } from './kairos-node.ts';
import { must, run } from './proc.ts';

export interface KairosDisk {
  device: string;
  recovery: string;
  state: string;
  /** A file of `cOS/<image>` on the state (or recovery) partition, or undefined if the image or file is not there. */
  readImageFile(image: string, file: string, partition?: 'state' | 'recovery'): Promise<string | undefined>;
  /** Detaches the disk, and any loop device left on a file under `dir`. */
  detach(): Promise<void>;
}

const MiB = 1024 * 1024;

async function partitionNode(device: string, n: number): Promise<string> {
  const part = `${device}p${n}`;
  const sys = `/sys/block/${path.basename(device)}/${path.basename(part)}/dev`;
  // devtmpfs creates the node when the kernel adds the partition; no udev here to wait on.
  for (let i = 0; i < 500 && !(existsSync(part) && existsSync(sys)); i++) await sleep(10);
  if (!existsSync(part)) throw new Error(`${part} did not appear after partitioning ${device}`);
  return part;
}

export async function createKairosDisk(dir: string, node: KairosNode, activeRoot: string, opts: { activeMiB?: number; stateMiB?: number } = {}): Promise<KairosDisk> {
  const activeMiB = opts.activeMiB ?? 128;
  const stateMiB = opts.stateMiB ?? 3 * activeMiB + 64;
  const image = path.join(dir, 'disk.img');
  await must('truncate', ['-s', `${(stateMiB + 48 + 2) * MiB}`, image]);
  await must('sfdisk', ['--quiet', image], { input: `label: gpt\nsize=32MiB, name=recovery\nname=state\n` });
  const device = (await must('losetup', ['--find', '--show', '--partscan', image])).trim();
  try {
    // The kernel's own scan (--partscan) did not always publish the partitions here; partx
    // adds the ones missing and leaves the others.
    await must('partx', ['--update', device]);
    const recovery = await partitionNode(device, 1);
    const state = await partitionNode(device, 2);
    const stateTree = path.join(dir, 'state-tree');
    mkdirSync(path.join(stateTree, 'cOS'), { recursive: true });
    await must('mkfs.ext2', ['-q', '-F', '-L', 'COS_ACTIVE', '-d', activeRoot, path.join(stateTree, 'cOS/active.img'), `${activeMiB}M`]);
    await must('mkfs.ext4', ['-q', '-F', '-L', 'COS_RECOVERY', recovery]);
    await must('mkfs.ext4', ['-q', '-F', '-L', 'COS_STATE', '-d', stateTree, state]);
    for (const [part, label] of [
      [recovery, 'COS_RECOVERY'],
      [state, 'COS_STATE'],
    ] as const) {
      const majMin = readFileSync(`/sys/block/${path.basename(device)}/${path.basename(part)}/dev`, 'utf8').trim();
      node.write(`/run/udev/data/b${majMin}`, `E:ID_FS_LABEL=${label}\nE:ID_FS_TYPE=ext4\nE:ID_FS_USAGE=filesystem\n`);
    }
    // The disks too, as udev has them (the agent scans every disk and logs an error for each
    // one without an entry): the test disk with its partition table, the machine's own empty.
    const tableId = (await must('sfdisk', ['--disk-id', device])).trim().toLowerCase();
    for (const disk of readdirSync('/sys/block')) {
      const majMin = readFileSync(`/sys/block/${disk}/dev`, 'utf8').trim();
      if (!existsSync(node.path(`/run/udev/data/b${majMin}`))) {
        node.write(`/run/udev/data/b${majMin}`, `/dev/${disk}` === device ? `E:ID_PART_TABLE_TYPE=gpt\nE:ID_PART_TABLE_UUID=${tableId}\n` : '');
      }
    }
    return {
      device,
      recovery,
      state,
      async readImageFile(name, file, partition = 'state') {
        const mnt = path.join(dir, 'mnt');
        mkdirSync(path.join(mnt, 'state'), { recursive: true });
        mkdirSync(path.join(mnt, 'image'), { recursive: true });
        const script = [
          'set -e',
          `mount -o ro ${partition === 'state' ? state : recovery} ${mnt}/state`,
          `[ -f ${mnt}/state/cOS/${name} ] || exit 3`,
          `mount -o ro,loop ${mnt}/state/cOS/${name} ${mnt}/image`,
          `cat ${mnt}/image/${file} || exit 3`,
          `umount ${mnt}/image ${mnt}/state`,
        ].join('\n');
        const r = await run('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script]);
        if (r.code === 3) return undefined;
        if (r.code !== 0) throw new Error(`reading ${file} from cOS/${name} on ${state} failed: ${r.stderr}`);
        return r.stdout;
      },
      async detach() {
        await detachAll(image, dir);
      },
    };
  } catch (err) {
    await detachAll(image, dir);
    throw err;
  }
}

/** Detaches the disk's loop device and any loop device kairos-agent left on a file under `dir`. */
async function detachAll(image: string, dir: string): Promise<void> {
  const list = await run('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE']);
  for (const line of list.stdout.split('\n')) {
    const [dev, file] = line.trim().split(/\s+/, 2);
    if (dev && file && (file === image || file.startsWith(`${dir}/`))) await run('losetup', ['--detach', dev]);
  }
}

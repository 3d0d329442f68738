/**
 * A description of a directory tree for comparing two unpacks: every path with its type,
 * mode, owner, symlink target, content hash and extended attributes (read with getfattr,
 * independently of the agent's own addon).
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { must } from './proc.ts';

export interface Node {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: string;
  uid: number;
  gid: number;
  target?: string;
  sha256?: string;
  xattrs?: string;
}

async function xattrsOf(file: string): Promise<string | undefined> {
  const out = await must('getfattr', ['--absolute-names', '-h', '-d', '-m', '-', '-e', 'hex', file]).catch(() => '');
  const lines = out
    .split('\n')
    .filter((l) => l.includes('='))
    .sort();
  return lines.length > 0 ? lines.join(' ') : undefined;
}

export async function describeTree(root: string): Promise<Record<string, Node>> {
  const out: Record<string, Node> = {};
  const walk = async (rel: string) => {
    const abs = path.join(root, rel);
    const st = lstatSync(abs);
    const node: Node = {
      type: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other',
      mode: (st.mode & 0o7777).toString(8),
      uid: st.uid,
      gid: st.gid,
    };
    if (st.isSymbolicLink()) node.target = readlinkSync(abs);
    if (st.isFile()) node.sha256 = createHash('sha256').update(readFileSync(abs)).digest('hex');
    const x = await xattrsOf(abs);
    if (x) node.xattrs = x;
    out[rel || '.'] = node;
    if (st.isDirectory()) for (const n of readdirSync(abs).sort()) await walk(path.join(rel, n));
  };
  await walk('');
  return out;
}

/** Inode groups: which paths are hard links of each other. */
export function hardlinkGroups(root: string, paths: string[]): string[][] {
  const byIno = new Map<number, string[]>();
  for (const p of paths) {
    const st = lstatSync(path.join(root, p));
    if (st.isFile() && st.nlink > 1) byIno.set(st.ino, [...(byIno.get(st.ino) ?? []), p]);
  }
  return [...byIno.values()].map((g) => g.sort()).sort();
}

/**
 * What the agent did to this node, across runs: images seeded into containerd and
 * upgrades applied, in one small JSON file replaced atomically.
 */
import { readOwnJson } from '../fs/read-json.ts';
import { writeFileAtomic } from '../fs/atomic-write.ts';

export interface AppliedRecord {
  ref: string;
  manifest: string;
  version?: string;
  recovery: boolean;
  at: string;
  result: 'applied' | 'failed';
}

export interface NodeState {
  seeded: Record<string, { digest: string; at: string }>;
  applied: AppliedRecord[];
}

export async function readState(file: string): Promise<NodeState> {
  const s = ((await readOwnJson(file)) ?? {}) as Partial<NodeState>;
  return { seeded: s.seeded ?? {}, applied: s.applied ?? [] };
}

export async function updateState(file: string, change: (s: NodeState) => void): Promise<NodeState> {
  const s = await readState(file);
  change(s);
  s.applied = s.applied.slice(-20); // a history, not a log
  await writeFileAtomic(file, `${JSON.stringify(s, null, 2)}\n`);
  return s;
}

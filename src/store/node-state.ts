/**
 * What the agent did to this node, across runs: images seeded into containerd, upgrades
 * applied, and how each command's last run ended (for the metrics, which a later run
 * renders), in one small JSON file replaced atomically.
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

export interface RunRecord {
  at: string;
  exit_code: number;
}

export interface NodeState {
  seeded: Record<string, { digest: string; at: string }>;
  applied: AppliedRecord[];
  /** The last run of each command, by its name. */
  runs: Record<string, RunRecord>;
  /** The last health check that came to a verdict. */
  health?: { status: 'healthy' | 'degraded' | 'unhealthy'; at: string };
}

export async function readState(file: string): Promise<NodeState> {
  const s = ((await readOwnJson(file)) ?? {}) as Partial<NodeState>;
  return { seeded: s.seeded ?? {}, applied: s.applied ?? [], runs: s.runs ?? {}, ...(s.health ? { health: s.health } : {}) };
}

export async function updateState(file: string, change: (s: NodeState) => void): Promise<NodeState> {
  const s = await readState(file);
  change(s);
  s.applied = s.applied.slice(-20); // a history, not a log
  await writeFileAtomic(file, `${JSON.stringify(s, null, 2)}\n`);
  return s;
}

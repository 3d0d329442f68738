/**
 * The metrics: what `status` computes, plus how each command's last run ended and the last
 * health verdict (kept in run records, since each run is its own process). Written for
 * node_exporter's textfile collector after every run that acts on the node, and printed by
 * `kairos-spegel metrics`.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { AppEnv } from './env.ts';
import { loadNodeContext } from './node-context.ts';
import { nodeStatus } from './status.ts';
import { errnoCode, errorMessage, EXIT_DEGRADED, EXIT_OK, EXIT_UNHEALTHY } from '../errors.ts';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { renderMetrics } from '../metrics/exposition.ts';
import { readRunRecords, writeRunRecord, type HealthVerdict, type RunRecord } from '../store/run-records.ts';
import type { AgentConfig } from '../config/agent-config.ts';

/** node_exporter reads only `*.prom`; the atomic write's temp file is named otherwise. */
export const TEXTFILE = 'kairos_spegel.prom';

export interface RunOutcome {
  command: string;
  exitCode: number;
  at: Date;
}

/** health's exit code is its verdict; any other (an error, a signal) reached none. */
const VERDICT: Partial<Record<number, HealthVerdict>> = { [EXIT_OK]: 'healthy', [EXIT_DEGRADED]: 'degraded', [EXIT_UNHEALTHY]: 'unhealthy' };

/** Next to the state file: what the agent keeps about this node stays in one place. */
const runRecordsDir = (env: AppEnv, agent: AgentConfig) => env.root.path(path.join(path.dirname(agent.upgrade.state_file), 'runs'));

async function render(env: AppEnv, runs: Map<string, RunRecord>): Promise<string> {
  const s = await nodeStatus(env, { system: false });
  const lastApplied = new Map(s.applied.map((a) => [a.manifest, a.result === 'applied']));
  return renderMetrics({
    images: s.images.map((i) => ({
      image: i.image,
      digest: i.manifest,
      staged: i.staged !== null,
      seeded: i.seeded !== null,
      applied: lastApplied.get(i.manifest) ?? false,
      bytesFromPeers: i.bytes.from_peers,
      bytesFromUpstream: i.bytes.from_upstream,
    })),
    bytesFromPeers: s.bytes.from_peers,
    bytesFromUpstream: s.bytes.from_upstream,
    runs: [...runs].map(([command, r]) => ({ command, at: Date.parse(r.at) / 1000, exitCode: r.exit_code })),
    ...(runs.get('health')?.verdict ? { health: runs.get('health')!.verdict! } : {}),
    storeSizeBytes: s.store_size,
    storeFreeBytes: s.store_free,
  });
}

/** `kairos-spegel metrics`: the text the textfile holds. */
export async function metricsText(env: AppEnv): Promise<string> {
  const ctx = await loadNodeContext(env);
  return render(env, await readRunRecords(runRecordsDir(env, ctx.agent)));
}

/**
 * Records the run (store/run-records), then rewrites the textfile if its directory exists.
 * Never throws: metrics must not fail a command. A missing directory (no node_exporter) is
 * the common case and only logged at debug; anything else is one warning.
 */
export async function recordRun(env: AppEnv, run: RunOutcome): Promise<void> {
  let ctx;
  try {
    ctx = await loadNodeContext(env);
  } catch (err) {
    env.log.debug({ err: errorMessage(err) }, 'run not recorded: the configuration did not load');
    return;
  }
  try {
    const verdict = run.command === 'health' ? VERDICT[run.exitCode] : undefined;
    // A health check that reached no verdict records none: a stale one would read as current.
    const runsDir = runRecordsDir(env, ctx.agent);
    await writeRunRecord(runsDir, run.command, { at: run.at.toISOString(), exit_code: run.exitCode, ...(verdict ? { verdict } : {}) });
    const dir = env.root.path(ctx.agent.metrics.textfile_directory);
    const isDir = await stat(dir).then(
      (st) => st.isDirectory(),
      (err: unknown) => {
        if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
        throw err;
      },
    );
    if (!isDir) {
      env.log.debug({ dir: ctx.agent.metrics.textfile_directory }, 'metrics textfile not written: no such directory (node_exporter not installed?)');
      return;
    }
    await writeFileAtomic(path.join(dir, TEXTFILE), await render(env, await readRunRecords(runsDir)));
  } catch (err) {
    env.log.warn({ err: errorMessage(err), dir: ctx.agent.metrics.textfile_directory }, 'metrics not recorded');
  }
}

/**
 * `validate`: the loader's checks without doing anything, for a config on its way to a
 * node (as `kairos-agent validate` is for Kairos' own). Every problem of every file at once,
 * each at file:line:col.
 */
import type { AppEnv } from './env.ts';
import { loadConfig, loadConfigFile, type LoadedConfig } from '../config/load.ts';
import { ConfigError, type ConfigProblem } from '../errors.ts';

export interface ValidateRequest {
  /** Cloud-config files on this machine; none: the node's own (Kairos' directories under --root). */
  files: string[];
}

export interface Problem {
  file: string;
  line: number | null;
  col: number | null;
  key: string;
  message: string;
}

export interface ValidateResult {
  valid: boolean;
  /** What was checked: the files given, or the node's cloud-config files that have content. */
  files: string[];
  problems: Problem[];
  /** Set when a file has no kairos-spegel: block: the agent runs on its defaults there. */
  without_block: string[];
}

export function problemOf(p: ConfigProblem): Problem {
  return { file: p.at.file, line: p.at.line ?? null, col: p.at.col ?? null, key: p.key, message: p.message };
}

async function check(load: () => Promise<LoadedConfig>): Promise<{ loaded?: LoadedConfig; problems: Problem[] }> {
  try {
    return { loaded: await load(), problems: [] };
  } catch (err) {
    if (err instanceof ConfigError) return { problems: err.problems.map(problemOf) };
    throw err;
  }
}

export async function validateConfig(env: AppEnv, req: ValidateRequest): Promise<ValidateResult> {
  const results =
    req.files.length > 0
      ? await Promise.all(req.files.map(async (file) => ({ files: [file], ...(await check(() => loadConfigFile(file))) })))
      : [await check(() => loadConfig({ root: env.root })).then((r) => ({ files: r.loaded?.sources ?? [], ...r }))];
  const problems = results.flatMap((r) => r.problems);
  for (const p of problems) env.log.debug({ file: p.file, key: p.key }, p.message);
  return {
    valid: problems.length === 0,
    files: results.flatMap((r) => r.files),
    problems,
    without_block: results.flatMap((r) => (r.loaded && !r.loaded.hasBlock ? r.files : [])),
  };
}

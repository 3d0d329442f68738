/**
 * `config`: the effective configuration and where each value comes from, for "which file
 * set this?" on a node whose cloud-config is spread over several files. It loads the
 * configuration exactly as the other commands do, so it fails (E_CONFIG) where they would.
 */
import { effectiveValues } from '../config/effective.ts';
import { loadConfig } from '../config/load.ts';
import type { AppEnv } from './env.ts';

export interface ConfigSource {
  file: string;
  line: number | null;
  col: number | null;
}

export interface ConfigReport {
  /** The cloud-config files read, in merge order (a later file wins). */
  files: string[];
  /** Files Kairos' collection skips, and why. */
  skipped: { file: string; reason: string }[];
  /** Whether any file has a kairos-spegel: block; without one every value is a default. */
  has_block: boolean;
  values: { key: string; value: unknown; source: ConfigSource | null }[];
}

export async function showConfig(env: Pick<AppEnv, 'root' | 'configFile'>): Promise<ConfigReport> {
  const loaded = await loadConfig({ root: env.root, configFile: env.configFile });
  return {
    files: loaded.sources,
    skipped: loaded.skipped.map((s) => ({ file: s.file, reason: s.reason })),
    has_block: loaded.hasBlock,
    values: effectiveValues(loaded.block).map((v) => ({
      key: v.key,
      value: v.value,
      source: v.source === null ? null : { file: v.source.file, line: v.source.line ?? null, col: v.source.col ?? null },
    })),
  };
}

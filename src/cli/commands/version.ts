/** `kairos-spegel version` (and `--version`): what was built, from which commit, when, on which Node. */
import { EXIT_OK } from '../../errors.ts';
import { BUILD_DATE, COMMIT, VERSION } from '../../version.ts';
import type { CommandRun } from '../command.ts';
import type { VERSION_OPTIONS } from '../commands.ts';

export interface VersionInfo {
  version: string;
  /** Full sha, "<sha>-dirty", or "unknown". */
  commit: string;
  build_date: string | null;
  node: string;
  arch: string;
}

export function versionInfo(): VersionInfo {
  return { version: VERSION, commit: COMMIT, build_date: BUILD_DATE, node: process.versions.node, arch: process.arch };
}

/** One line, e.g. "kairos-spegel 0.1.0 (commit 1a2b3c4, built 2026-12-03T06:52:00Z, node v22.12.0)". */
export function versionLine(v: VersionInfo): string {
  const commit = /^[0-9a-f]{40}/.test(v.commit) ? `${v.commit.slice(0, 7)}${v.commit.slice(40)}` : v.commit;
  return `kairos-spegel ${v.version} (commit ${commit}, ${v.build_date === null ? 'not a release build' : `built ${v.build_date}`}, node v${v.node})`;
}

export const run: CommandRun<typeof VERSION_OPTIONS> = (ctx) => {
  const v = versionInfo();
  ctx.out.result(v, () => versionLine(v));
  return Promise.resolve(EXIT_OK);
};

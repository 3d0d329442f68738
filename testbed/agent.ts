/** The built binary under test (npm test builds it first). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { run, type RunResult } from './proc.ts';
import { checkJsonDocument } from './json-contract.ts';
import { leakedSecrets } from './secrets.ts';
import type { TestNode } from './netns.ts';

export const AGENT = path.resolve(import.meta.dirname, '../dist/kairos-spegel');

export function agentBuilt(): string {
  if (!existsSync(AGENT)) throw new Error(`${AGENT} is missing: run 'npm run build' first (npm test does)`);
  return AGENT;
}

/**
 * Runs the agent. Whatever a test feeds it, the agent must never answer with an internal
 * error or a stack trace, nor echo a password: every run through here fails the test if it does.
 */
export async function runAgent(args: string[], opts: { node?: TestNode; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  const bin = agentBuilt();
  const [cmd, argv] = opts.node ? opts.node.exec(bin, args) : [bin, args];
  const r = await run(cmd, argv, { env: opts.env, timeoutMs: opts.timeoutMs });
  assertCleanOutput(`kairos-spegel ${args.join(' ')}`, r);
  if (args.includes('--json') && !args.some((a) => a === '--help' || a === '-h' || a === 'help') && r.code !== null) checkJsonDocument(`kairos-spegel ${args.join(' ')}`, r.stdout);
  return r;
}

/** What `--version` prints: the version, then the commit, the build date and the embedded Node. */
export function versionLine(version: string): RegExp {
  return new RegExp(`^kairos-spegel ${version.replaceAll('.', '\\.')} \\(commit ([0-9a-f]{7}(-dirty)?|unknown), built \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ, node v22\\.\\d+\\.\\d+\\)\n$`);
}

/** Fails with the output when the agent printed an internal error, a stack trace or a test password. */
export function assertCleanOutput(what: string, r: RunResult): void {
  const out = r.stdout + r.stderr;
  if (/internal error|E_INTERNAL|\n\s+at .+:\d+:\d+\)?\n/.test(out)) throw new Error(`${what} printed an internal error or a stack trace:\n${out.slice(0, 4000)}`);
  const leaked = leakedSecrets(out);
  if (leaked.length > 0) throw new Error(`${what} printed a password (${leaked.length} of the test passwords)`);
}

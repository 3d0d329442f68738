/** The built binary under test (npm test builds it first). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { run, type RunResult } from './proc.ts';
import type { TestNode } from './netns.ts';

export const AGENT = path.resolve(import.meta.dirname, '../../dist/kairos-spegel');

export function agentBuilt(): string {
  if (!existsSync(AGENT)) throw new Error(`${AGENT} is missing: run 'npm run build' first (npm test does)`);
  return AGENT;
}

export function runAgent(args: string[], opts: { node?: TestNode; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  const bin = agentBuilt();
  const [cmd, argv] = opts.node ? opts.node.exec(bin, args) : [bin, args];
  return run(cmd, argv, { env: opts.env, timeoutMs: opts.timeoutMs });
}

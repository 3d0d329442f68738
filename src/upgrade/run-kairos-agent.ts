/**
 * Applies a staged rootfs with kairos-agent, exactly as the Kairos operator's upgrade job
 * calls it (reference/kairos.md §1a, §5): `upgrade --source dir:<rootfs>` with the node's
 * identity files excluded. Its output goes to the agent's log line by line.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { AgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';

export function kairosAgentArgs(rootfs: string, recovery: boolean): string[] {
  return ['upgrade', '--source', `dir:${rootfs}`, '--exclude-path', '/etc/hostname', '--exclude-path', '/etc/hosts', ...(recovery ? ['--recovery'] : [])];
}

export async function runKairosAgent(command: string, args: string[], log: Logger): Promise<void> {
  log.info({ command: [command, ...args].join(' ') }, 'running kairos-agent');
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      log.info({ from: 'kairos-agent' }, line);
    });
  }
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (err) => reject(new AgentError('E_KAIROS_AGENT', `cannot run ${command}: ${err.message}`, { hint: 'install kairos-agent, or set kairos-spegel.upgrade.kairos_agent to its path' })));
    child.once('close', (c) => resolve(c));
  });
  if (code !== 0) {
    throw new AgentError('E_KAIROS_AGENT', `kairos-agent upgrade failed (exit ${code}): ${tail.slice(-5).join(' | ')}`, { hint: "see its log above; the staged image stays, so running 'kairos-spegel upgrade' again needs no download" });
  }
}

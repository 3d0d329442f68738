/**
 * Applies a staged rootfs with kairos-agent: `upgrade --source dir:<rootfs>`, which every
 * kairos-agent since 2.x accepts. Not `--exclude-path` (kairos-agent >= v2.25.2 only): the
 * operator's upgrade pod passes it to keep the pod's own /etc/hosts and /etc/hostname out of
 * a source that is the pod's root; a rootfs unpacked from the image's layers has no such
 * files. Its output goes to the agent's log line by line.
 *
 * kairos-agent always runs on the node's own root here (it has no root prefix), also when
 * kairos-spegel was started by `chroot /host` from a Kairos operator NodeOp pod. That pod's
 * environment survives the chroot: with KUBERNETES_SERVICE_HOST set, kairos-agent reads the
 * node's config from $HOST_DIR (default /host) instead of / (`GetHostDirForK8s`,
 * https://github.com/kairos-io/kairos-agent/blob/v2.31.4/pkg/utils/k8s/common.go), finds no
 * users there and refuses. So both are removed from its environment.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { AgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Lock } from '../store/lock.ts';

export function kairosAgentArgs(rootfs: string, recovery: boolean): string[] {
  return ['upgrade', '--source', `dir:${rootfs}`, ...(recovery ? ['--recovery'] : [])];
}

/** The variables that make kairos-agent look for the node under $HOST_DIR. */
const POD_ENV = ['KUBERNETES_SERVICE_HOST', 'HOST_DIR'];

function kairosAgentEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !POD_ENV.includes(k)));
}

/** kairos-agent logs with zerolog's console writer: "<time> INF|WRN|ERR ...". Its level is kept. */
function agentLevel(line: string): 'debug' | 'info' | 'warn' | 'error' {
  const level = / (DBG|TRC|INF|WRN|ERR|FTL|PNC) /.exec(line.slice(0, 40))?.[1];
  if (level === 'WRN') return 'warn';
  if (level === 'ERR' || level === 'FTL' || level === 'PNC') return 'error';
  if (level === 'DBG' || level === 'TRC') return 'debug';
  return 'info';
}

/**
 * Runs kairos-agent to its end. Not started once `signal` is aborted; aborted while it runs,
 * kairos-agent gets the same SIGTERM and is waited for (it unmounts and removes its
 * transition image itself), then the interruption is what this throws.
 *
 * kairos-agent inherits the upgrade lock's descriptor (as fd 3), so the lock outlives this
 * process if it is killed: no second upgrade starts a second kairos-agent beside the first,
 * and none removes the staging it is copying from. The lock file names it.
 */
export async function runKairosAgent(command: string, args: string[], log: Logger, opts: { signal?: AbortSignal; lock?: Lock } = {}): Promise<void> {
  const { signal, lock } = opts;
  signal?.throwIfAborted();
  const dropped = POD_ENV.filter((k) => process.env[k] !== undefined);
  log.info({ command: [command, ...args].join(' '), ...(dropped.length ? { unset: dropped } : {}) }, 'running kairos-agent');
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe', lock ? lock.fd : 'ignore'], env: kairosAgentEnv(process.env) });
  if (lock && child.pid !== undefined) await lock.note(`kairos-agent pid ${child.pid} (${command} ${args[0]})`);
  const tail: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (line.trim() === '') return;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      log[agentLevel(line)]({ from: 'kairos-agent' }, line);
    });
  }
  const forward = () => child.kill('SIGTERM');
  signal?.addEventListener('abort', forward, { once: true });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (err) =>
      reject(new AgentError('E_KAIROS_AGENT', `cannot run ${command}: ${err.message}`, { hint: 'install kairos-agent, or set kairos-spegel.upgrade.kairos_agent to its path' })),
    );
    child.once('close', (c) => resolve(c));
  }).finally(() => signal?.removeEventListener('abort', forward));
  signal?.throwIfAborted();
  if (code !== 0) {
    throw new AgentError('E_KAIROS_AGENT', `kairos-agent upgrade failed (exit ${code}): ${tail.slice(-5).join(' | ')}`, {
      hint: "see its log above; the staged image stays, so running 'kairos-spegel upgrade' again needs no download",
    });
  }
}

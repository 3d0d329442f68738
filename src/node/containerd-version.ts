/**
 * The version of the containerd that runs on the node, asked over its socket with the
 * node's own ctr (`ctr version` prints the server's). What containerd makes of its config
 * depends on it: 2.1 pulls Kubernetes images through the transfer service, 2.2 defaults
 * config_path. No socket, no answer: the version stays unknown (at an early boot stage
 * containerd may not run yet), and nothing is spawned for it.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { errnoCode, errorMessage } from '../errors.ts';
import type { Root } from '../fs/root.ts';

export interface ContainerdVersion {
  major: number;
  minor: number;
  patch: number;
  /** As containerd reports it, e.g. "2.2.9" or "1.6.20~ds1". */
  text: string;
}

export type ContainerdVersionResult = { version: ContainerdVersion } | { version?: undefined; reason: string };

const TIMEOUT_MS = 3000;

/** "Server:\n  Version:  v2.2.9\n" in `ctr version` output. */
function parseCtrVersion(output: string): ContainerdVersion | undefined {
  const m = /^Server:\s*\n\s*Version:\s*v?((\d+)\.(\d+)\.(\d+)\S*)/m.exec(output);
  if (!m) return undefined;
  return { text: m[1]!, major: Number(m[2]), minor: Number(m[3]), patch: Number(m[4]) };
}

export function atLeast(v: ContainerdVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** @param socketPath node path of containerd's socket; @param ctr the node's ctr command ("ctr", "k3s ctr") */
export async function containerdVersion(root: Root, socketPath: string, ctr: string[]): Promise<ContainerdVersionResult> {
  const socket = root.path(socketPath);
  try {
    if (!(await stat(socket)).isSocket()) return { reason: `${socketPath} is not a socket` };
  } catch (err) {
    return { reason: `no containerd socket at ${socketPath} (${errnoCode(err) ?? errorMessage(err)})` };
  }
  const [cmd, ...pre] = ctr;
  try {
    const { stdout } = await promisify(execFile)(cmd!, [...pre, '--address', socket, 'version'], { timeout: TIMEOUT_MS });
    const version = parseCtrVersion(stdout);
    return version ? { version } : { reason: `${ctr.join(' ')} version printed no server version` };
  } catch (err) {
    const e = err as { stderr?: string };
    return { reason: `${ctr.join(' ')} version failed: ${(e.stderr || errorMessage(err)).trim().split('\n').at(-1)}` };
  }
}

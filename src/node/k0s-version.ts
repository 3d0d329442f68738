/**
 * Which containerd drop-in the node's k0s takes, from the k0s release (k0s source,
 * pkg/component/worker/containerd and internal/pkg/sysinfo/probes/containerd.go):
 * - up to 1.35 (containerd 1.7), k0s merges a drop-in that holds the CRI plugin table
 *   (`plugins."io.containerd.grpc.v1.cri"`) into the CRI config it generates, and imports
 *   any other drop-in as it is: the version 2 form;
 * - from 1.36 (containerd 2.3), containerd imports the drop-ins itself, and k0s' pre-flight
 *   check refuses to start on a drop-in whose version is not 3 or that holds the old CRI
 *   plugin table: the version 3 form.
 * `k0s version` prints the release tag, such as "v1.36.3+k0s.2" (cmd/version/version.go).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { errorMessage, SystemError } from '../errors.ts';

export type DropInVersion = 2 | 3;

/** The `kairos-spegel.containerd.config_version` setting. */
export type DropInSetting = 'auto' | DropInVersion;

/** "v1.36.3+k0s.2" → [1, 36]. */
function parseK0sVersion(output: string): { major: number; minor: number; text: string } | undefined {
  const m = /^\s*(v?(\d+)\.(\d+)\.\d+\S*)/.exec(output);
  return m ? { text: m[1]!, major: Number(m[2]), minor: Number(m[3]) } : undefined;
}

function dropInVersionFor(k0s: { major: number; minor: number }): DropInVersion {
  return k0s.major > 1 || (k0s.major === 1 && k0s.minor >= 36) ? 3 : 2;
}

const HINT = 'set kairos-spegel.containerd.config_version: 3 for k0s 1.36 and later, 2 for earlier releases';

/** The form the setting names, or the one the installed k0s takes (`auto`). */
export async function k0sDropInVersion(setting: DropInSetting, command = 'k0s'): Promise<{ version: DropInVersion; from: string }> {
  if (setting !== 'auto') return { version: setting, from: 'kairos-spegel.containerd.config_version' };
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(command, ['version'], { timeout: 10_000 }));
  } catch (err) {
    const e = err as { stderr?: string };
    throw new SystemError('E_K0S_VERSION', `cannot tell which containerd drop-in k0s takes: '${command} version' failed: ${(e.stderr || errorMessage(err)).trim().split('\n').at(-1)}`, HINT, err);
  }
  const k0s = parseK0sVersion(stdout);
  if (!k0s) throw new SystemError('E_K0S_VERSION', `cannot tell which containerd drop-in k0s takes: '${command} version' printed ${JSON.stringify(stdout.trim().slice(0, 80))}`, HINT);
  return { version: dropInVersionFor(k0s), from: `k0s ${k0s.text}` };
}

/**
 * journald: when stderr is the journal's stream, each log line starts with its syslog
 * priority ("<3>" error, "<4>" warning, as sd-daemon(3) writes them), so `journalctl -p
 * warning` finds them. systemd says which stream is the journal by JOURNAL_STREAM
 * ("device:inode", systemd.exec(5)); a child that inherits the variable while its stderr
 * goes to a pipe (as under yip) must not prefix. This machine runs no journald: the
 * binary's stderr is a file whose device and inode the test hands over, as systemd would
 * for its socket, and the stream format is checked line by line.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { AGENT } from '../../testbed/agent.ts';
import { tempDir } from '../../testbed/tmp.ts';

function nodeRoot(block: string, files: Record<string, string> = {}): string {
  const root = tempDir();
  mkdirSync(path.join(root, 'oem'));
  writeFileSync(path.join(root, 'oem/90.yaml'), `#cloud-config\nkairos-spegel:\n${block}`);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), text);
  }
  return root;
}

/** Runs the agent with stderr on `file`; JOURNAL_STREAM names `journal` (a file's device:inode). */
async function stderrLines(args: string[], journal: 'stderr' | 'elsewhere'): Promise<{ code: number | null; lines: string[] }> {
  const file = path.join(tempDir(), 'stderr');
  const other = path.join(tempDir(), 'journal');
  writeFileSync(other, '');
  const fd = openSync(file, 'w');
  try {
    const st = statSync(journal === 'stderr' ? file : other, { bigint: true });
    const child = spawn(AGENT, args, { stdio: ['ignore', 'ignore', fd], env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` } });
    const [code] = (await once(child, 'close')) as [number | null];
    return {
      code,
      lines: readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== ''),
    };
  } finally {
    closeSync(fd);
  }
}

const WARNS = ['  distro: containerd\n  node_ip: 10.1.2.3\n', { 'etc/containerd/certs.d/_backup/docker.io/hosts.toml': '' }] as const;
const ERRORS = '  distro: k3s\n  store:\n    keep: many\n';

describe('logs on the journal', () => {
  it('carry their priority when stderr is the journal: <4> on warnings, <3> on errors, <6> on the rest', async () => {
    const warn = await stderrLines(['--root', nodeRoot(...WARNS), 'configure'], 'stderr');
    expect(warn.code).toBe(0);
    expect(warn.lines.length).toBeGreaterThan(0);
    for (const l of warn.lines) expect(l).toMatch(/^<[2-7]>\{"level":"/);
    expect(warn.lines.filter((l) => l.startsWith('<4>{"level":"warn"')).length).toBeGreaterThan(0);
    expect(warn.lines.filter((l) => /"level":"warn"/.test(l)).every((l) => l.startsWith('<4>'))).toBe(true);

    const error = await stderrLines(['--root', nodeRoot(ERRORS), 'configure'], 'stderr');
    expect(error.code).toBe(2);
    expect(error.lines.find((l) => /"level":"error"/.test(l))).toMatch(/^<3>\{"level":"error".*"code":"E_CONFIG"/);
    // At --log-level silent the configuration error still reaches the journal, as an error.
    const silent = await stderrLines(['--root', nodeRoot(ERRORS), '--log-level', 'silent', 'configure'], 'stderr');
    expect(silent.lines[0]).toMatch(/^<3>kairos-spegel: .*90\.yaml:\d+:\d+: kairos-spegel\.store\.keep/);
  });

  it('carry none when JOURNAL_STREAM names another stream (inherited, stderr on a pipe or file)', async () => {
    const warn = await stderrLines(['--root', nodeRoot(...WARNS), 'configure'], 'elsewhere');
    const error = await stderrLines(['--root', nodeRoot(ERRORS), 'configure'], 'elsewhere');
    expect(warn.lines.some((l) => l.startsWith('{"level":"warn"'))).toBe(true);
    expect(error.lines.some((l) => l.startsWith('{"level":"error"'))).toBe(true);
    for (const l of [...warn.lines, ...error.lines]) expect(l).not.toMatch(/^<\d>/);
  });
});

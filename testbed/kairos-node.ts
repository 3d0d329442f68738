/**
 * A Kairos node root for the real kairos-agent, which has no root prefix for most of what it
 * does (run-stage, install-bundle run://, sysext, upgrade): every command runs in a private
 * mount namespace chrooted into the node root. The root has its own /etc, /oem, /usr/local,
 * /var and /run (plain directories a test prepares and reads, the same layout `--root`
 * reads); the host's /usr/* but /usr/local come in read-only for programs and libraries;
 * /dev, /proc and /sys are the host's (loop devices, partitions), and /proc/cmdline can be
 * replaced to set the boot state. The namespace ends with the command, its mounts with it:
 * nothing touches the machine.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run, type RunResult } from './proc.ts';
import { requireRoot } from './netns.ts';

export const NODE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface NodeRunOptions {
  env?: Record<string, string>;
  /** What /proc/cmdline says (the agent reads the boot state from it). */
  cmdline?: string;
  timeoutMs?: number;
  /** Host directories bound at the same path inside (where the binaries under test are). */
  binds?: string[];
  /** Wraps the command, e.g. to run it in a test node's network namespace (TestNode.exec). */
  via?: (cmd: string, args: string[]) => [string, string[]];
}

export class KairosNode {
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  /** A node root at `dir` (made, or completed if it exists): what chroot needs beside the node's files. */
  static prepare(dir: string): KairosNode {
    requireRoot('the node root is entered with a private mount namespace and chroot');
    // /var/lib/kairos is one of Kairos' persistent bind paths, always there on a node
    // (kairos-agent's `sysext install` fails with EEXIST when it is not).
    for (const d of ['etc', 'oem', 'usr/local', 'var/lib/kairos', 'var/log', 'run', 'tmp', 'dev', 'proc', 'sys', 'root']) mkdirSync(path.join(dir, d), { recursive: true });
    chmodSync(path.join(dir, 'tmp'), 0o1777);
    // Debian's merged /usr: the host's /bin, /sbin, /lib* are links into /usr.
    for (const d of ['bin', 'sbin', 'lib', 'lib64']) if (existsSync(`/${d}`) && !existsSync(path.join(dir, d))) symlinkSync(`usr/${d}`, path.join(dir, d));
    for (const f of ['passwd', 'group', 'nsswitch.conf', 'mke2fs.conf']) if (existsSync(`/etc/${f}`) && !existsSync(path.join(dir, 'etc', f))) copyFileSync(`/etc/${f}`, path.join(dir, 'etc', f));
    if (!existsSync(path.join(dir, 'etc/mtab'))) symlinkSync('/proc/self/mounts', path.join(dir, 'etc/mtab'));
    return new KairosNode(dir);
  }

  /** A path of the node, on the host. */
  path(p: string): string {
    return path.join(this.root, p.replace(/^\/+/, ''));
  }

  write(p: string, data: string, mode = 0o644): void {
    mkdirSync(path.dirname(this.path(p)), { recursive: true });
    writeFileSync(this.path(p), data, { mode });
  }

  /** Runs `argv` as if the node root were `/`. */
  run(argv: string[], opts: NodeRunOptions = {}): Promise<RunResult> {
    const [cmd, args] = this.command(argv, opts);
    return run(cmd, args, { timeoutMs: opts.timeoutMs ?? 120_000, env: { PATH: NODE_PATH } });
  }

  /**
   * The command line that runs `argv` as if the node root were `/`. Every step execs the
   * next, so the process started is `argv[0]` itself, for a test that signals it.
   */
  command(argv: string[], opts: Omit<NodeRunOptions, 'timeoutMs'> = {}): [string, string[]] {
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const R = this.root;
    const lines = [
      'set -e',
      `R=${q(R)}`,
      // /usr but the node's own /usr/local, as on Kairos (the persistent partition).
      'for d in /usr/*; do',
      '  if [ "$d" = /usr/local ] || [ ! -d "$d" ] || [ -L "$d" ]; then continue; fi',
      '  mkdir -p "$R$d" && mount --rbind "$d" "$R$d" && mount -o remount,bind,ro "$R$d"',
      'done',
      'mount --rbind /dev "$R/dev"',
      'mount --rbind /proc "$R/proc"',
      'mount --rbind /sys "$R/sys"',
    ];
    if (opts.cmdline !== undefined) {
      writeFileSync(path.join(R, '.cmdline'), `${opts.cmdline}\n`);
      lines.push('mount --bind "$R/.cmdline" "$R/proc/cmdline"');
    }
    for (const b of opts.binds ?? []) {
      mkdirSync(path.join(R, b), { recursive: true });
      lines.push(`mount --bind ${q(b)} "$R"${q(b)}`);
    }
    const env = { PATH: NODE_PATH, HOME: '/root', NO_COLOR: '1', ...opts.env };
    lines.push(
      `exec chroot "$R" /usr/bin/env -i ${Object.entries(env)
        .map(([k, v]) => q(`${k}=${v}`))
        .join(' ')} ${argv.map(q).join(' ')}`,
    );
    return (opts.via ?? ((c, a) => [c, a]))('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', lines.join('\n')]);
  }
}

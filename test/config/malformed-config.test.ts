/**
 * Malformed configuration through the real binary: each case exits 2 and its message
 * names the file (with line and column), the key path and what was expected.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAgent } from '../../testbed/agent.ts';
import { PASSWORDS } from '../../testbed/secrets.ts';
import { tempDir } from '../../testbed/tmp.ts';

interface Case {
  name: string;
  yaml: string;
  /** Line of the offending key or value in the file. */
  line: number;
  key: string;
  message: RegExp;
}

const CASES: Case[] = [
  { name: 'unknown key', yaml: 'kairos-spegel:\n  mirrorr: {}\n', line: 2, key: 'kairos-spegel.mirrorr', message: /unknown key; did you mean "mirror"\?/ },
  { name: 'unknown nested key', yaml: 'kairos-spegel:\n  mirror:\n    dial_timout: 1s\n', line: 3, key: 'kairos-spegel.mirror.dial_timout', message: /did you mean "dial_timeout"/ },
  {
    name: 'port not a number',
    yaml: 'kairos-spegel:\n  mirror:\n    ports: [30020, abc]\n',
    line: 3,
    key: 'kairos-spegel.mirror.ports[1]',
    message: /expected a TCP port number \(1-65535\), got "abc"/,
  },
  {
    name: 'port out of range',
    yaml: 'kairos-spegel:\n  mirror:\n    ports:\n      - 70000\n',
    line: 4,
    key: 'kairos-spegel.mirror.ports[0]',
    message: /expected a TCP port number \(1-65535\), got 70000/,
  },
  { name: 'ports not a list', yaml: 'kairos-spegel:\n  mirror:\n    ports: 30020\n', line: 3, key: 'kairos-spegel.mirror.ports', message: /expected a list of ports, got 30020/ },
  { name: 'no ports', yaml: 'kairos-spegel:\n  mirror:\n    ports: []\n', line: 3, key: 'kairos-spegel.mirror.ports', message: /expected at least one port/ },
  { name: 'duplicate port', yaml: 'kairos-spegel:\n  mirror:\n    ports: [30020, 30020]\n', line: 3, key: 'kairos-spegel.mirror.ports[1]', message: /duplicate 30020/ },
  {
    name: 'duration without unit',
    yaml: 'kairos-spegel:\n  mirror:\n    dial_timeout: 200\n',
    line: 3,
    key: 'kairos-spegel.mirror.dial_timeout',
    message: /expected a duration with a unit, such as 200ms/,
  },
  { name: 'yes is not a boolean', yaml: 'kairos-spegel:\n  mirror:\n    resolve_tags: yes\n', line: 3, key: 'kairos-spegel.mirror.resolve_tags', message: /expected true or false, got "yes"/ },
  { name: 'unknown distro', yaml: 'kairos-spegel:\n  distro: rke2\n', line: 2, key: 'kairos-spegel.distro', message: /expected one of "auto", "k3s", "k0s", "containerd", got "rke2"/ },
  {
    name: 'loopback node IP',
    yaml: 'kairos-spegel:\n  node_ip: 127.0.0.1\n',
    line: 2,
    key: 'kairos-spegel.node_ip',
    message: /loopback address; the mirror must be reached at the node's own IP, never localhost/,
  },
  { name: 'link-local node IP', yaml: 'kairos-spegel:\n  node_ip: fe80::1\n', line: 2, key: 'kairos-spegel.node_ip', message: /link-local/ },
  { name: 'not an IP', yaml: 'kairos-spegel:\n  node_ip: 10.0.0.300\n', line: 2, key: 'kairos-spegel.node_ip', message: /expected an IPv4 or IPv6 address/ },
  { name: 'bad registry', yaml: 'kairos-spegel:\n  mirror:\n    registries: ["ftp://ghcr.io"]\n', line: 3, key: 'kairos-spegel.mirror.registries[0]', message: /scheme must be http or https/ },
  { name: 'registry with a path', yaml: 'kairos-spegel:\n  mirror:\n    registries: ["https://ghcr.io/org"]\n', line: 3, key: 'kairos-spegel.mirror.registries[0]', message: /no path/ },
  { name: 'relative hosts dir', yaml: 'kairos-spegel:\n  containerd:\n    hosts_dir: etc/certs.d\n', line: 3, key: 'kairos-spegel.containerd.hosts_dir', message: /expected an absolute path/ },
  { name: 'block is a list', yaml: 'kairos-spegel:\n  - mirror\n', line: 2, key: 'kairos-spegel', message: /expected a mapping of settings, got a list/ },
  { name: 'section is a string', yaml: 'kairos-spegel:\n  mirror: fast\n', line: 2, key: 'kairos-spegel.mirror', message: /expected a mapping of settings, got "fast"/ },
];

describe('malformed configuration', () => {
  const dir = tempDir('ks-bad-');

  it.each(CASES)('$name: exit 2, names file:line, key and expectation', async (c) => {
    const file = path.join(dir, `${c.name.replaceAll(' ', '-')}.yaml`);
    writeFileSync(file, `#cloud-config\n${c.yaml}`);
    const r = await runAgent(['--config', file, '--root', dir, '--json', 'configure', '--dry-run']);
    expect(r.code).toBe(2);
    const err = (JSON.parse(r.stdout) as { error: { code: string; message: string; problems: { key: string; file: string; line: number | null }[] } }).error;
    expect(err.code).toBe('E_CONFIG');
    expect(err.message).toMatch(new RegExp(`^${file.replaceAll('.', '\\.')}:${c.line + 1}:\\d+: ${c.key.replaceAll('.', '\\.').replaceAll('[', '\\[')}: `, 'm'));
    expect(err.message).toMatch(c.message);
    expect(err.problems).toContainEqual(expect.objectContaining({ key: c.key, file, line: c.line + 1 }));
  });

  it.each(CASES)('validate finds it too: $name: exit 2, file:line:col, key and expectation', async (c) => {
    const file = path.join(dir, `validate-${c.name.replaceAll(' ', '-')}.yaml`);
    writeFileSync(file, `#cloud-config\n${c.yaml}`);
    const text = await runAgent(['validate', file]);
    expect(text.code).toBe(2);
    expect(text.stdout).toMatch(new RegExp(`^${file.replaceAll('.', '\\.')}:${c.line + 1}:\\d+: ${c.key.replaceAll('.', '\\.').replaceAll('[', '\\[')}: `, 'm'));
    expect(text.stdout).toMatch(c.message);
    const json = await runAgent(['--json', 'validate', file]);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({
      valid: false,
      files: [file],
      problems: expect.arrayContaining([expect.objectContaining({ key: c.key, file, line: c.line + 1, col: expect.any(Number) })]),
    });
  });

  it('validate reports every problem of every file at once, and says when a file has no block', async () => {
    const bad = path.join(dir, 'validate-many.yaml');
    const worse = path.join(dir, 'validate-more.yaml');
    const empty = path.join(dir, 'validate-empty.yaml');
    const good = path.join(dir, 'validate-good.yaml');
    writeFileSync(bad, '#cloud-config\nkairos-spegel:\n  distro: x\n  mirror:\n    ports: [0]\n');
    writeFileSync(worse, '#cloud-config\nkairos-spegel:\n  mirror:\n    resolve_tags: 1\n');
    writeFileSync(empty, '#cloud-config\nhostname: node1\n');
    writeFileSync(good, '#cloud-config\nkairos-spegel:\n  distro: k3s\n');
    const r = await runAgent(['--json', 'validate', bad, worse, empty, good]);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { problems: { file: string; key: string }[]; without_block: string[] };
    expect(doc.problems.map((p) => `${path.basename(p.file)} ${p.key}`)).toEqual([
      'validate-many.yaml kairos-spegel.distro',
      'validate-many.yaml kairos-spegel.mirror.ports[0]',
      'validate-more.yaml kairos-spegel.mirror.resolve_tags',
    ]);
    expect(doc.without_block).toEqual([empty]);
    const ok = await runAgent(['validate', good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`valid: ${good}\n`);
  });

  it('reports every problem of a file, not just the first', async () => {
    const file = path.join(dir, 'many.yaml');
    writeFileSync(file, '#cloud-config\nkairos-spegel:\n  distro: x\n  mirror:\n    ports: [0]\n    resolve_tags: 1\n');
    const r = await runAgent(['--config', file, '--root', dir, 'configure', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain('kairos-spegel.distro');
    expect(r.stdout + r.stderr).toContain('kairos-spegel.mirror.ports[0]');
    expect(r.stdout + r.stderr).toContain('kairos-spegel.mirror.resolve_tags');
  });

  it('a YAML syntax error in --config names the file and line', async () => {
    const file = path.join(dir, 'syntax.yaml');
    writeFileSync(file, '#cloud-config\nkairos-spegel:\n  mirror: {ports: [1\n');
    const r = await runAgent(['--config', file, '--root', dir, '--json', 'configure']);
    expect(r.code).toBe(2);
    expect((JSON.parse(r.stdout) as { error: { message: string } }).error.message).toMatch(new RegExp(`^${file.replaceAll('.', '\\.')}:\\d+:\\d+: not valid YAML`));
  });

  it('settings at the top level of --config are pointed at the block', async () => {
    const file = path.join(dir, 'flat.yaml');
    writeFileSync(file, 'mirror:\n  ports: [30020]\n');
    const r = await runAgent(['--config', file, '--root', dir, '--json', 'configure']);
    expect(r.code).toBe(2);
    const err = (JSON.parse(r.stdout) as { error: { message: string; hint: string } }).error;
    expect(err.message).toContain(`${file}:1:1: mirror: agent settings must be nested under "kairos-spegel:"`);
    expect(err.hint).toContain('indent mirror under a "kairos-spegel:" key');
  });

  it('a kind conflict between two cloud-config files names both files', async () => {
    const root = path.join(dir, 'conflict');
    mkdirSync(path.join(root, 'oem'), { recursive: true });
    writeFileSync(path.join(root, 'oem/10.yaml'), '#cloud-config\nkairos-spegel:\n  mirror:\n    ports: [30020]\n');
    writeFileSync(path.join(root, 'oem/20.yaml'), '#cloud-config\nkairos-spegel:\n  mirror:\n    ports: 30021\n');
    const r = await runAgent(['--root', root, 'configure', '--dry-run']);
    expect(r.code).toBe(2);
    const out = r.stdout + r.stderr;
    expect(out).toContain(`${path.join(root, 'oem/20.yaml')}:4:12: kairos-spegel.mirror.ports: cannot merge a number with the list set at ${path.join(root, 'oem/10.yaml')}:4`);
  });

  it('k3s and k0s enabled together is refused, naming where', async () => {
    const root = path.join(dir, 'both');
    mkdirSync(path.join(root, 'oem'), { recursive: true });
    writeFileSync(path.join(root, 'oem/10.yaml'), '#cloud-config\nk3s:\n  enabled: true\nk0s:\n  enabled: true\n');
    const r = await runAgent(['--root', root, 'configure', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain(`${path.join(root, 'oem/10.yaml')}:5:12: k0s.enabled: both k3s (${path.join(root, 'oem/10.yaml')}:3:12) and k0s are enabled`);
  });

  /** Nine levels of nine aliases each: 9^9 values from a file of a few hundred bytes. */
  const BOMB = ['#cloud-config', 'a0: &a0 [x,x,x,x,x,x,x,x,x]', ...Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(',')}]`), ''].join('\n');

  it('nested YAML aliases ("billion laughs") in --config: refused at once, naming the file and line', async () => {
    const file = path.join(dir, 'bomb.yaml');
    writeFileSync(file, BOMB);
    expect(BOMB.length).toBeLessThan(500);
    const r = await runAgent(['--config', file, '--root', dir, '--json', 'configure', '--dry-run'], { timeoutMs: 30_000 });
    expect(r.signal, 'it ended by itself').toBeNull();
    expect(r.code).toBe(2);
    expect((JSON.parse(r.stdout) as { error: { message: string } }).error.message).toMatch(new RegExp(`^${file.replaceAll('.', '\\.')}:\\d+:\\d+: .*YAML aliases expand to more than 100000 values`));
  });

  it('nested YAML aliases in a cloud-config directory: the file is skipped with a warning, as Kairos skips it', async () => {
    const root = path.join(dir, 'bomb-root');
    mkdirSync(path.join(root, 'oem'), { recursive: true });
    writeFileSync(path.join(root, 'oem/50_bomb.yaml'), BOMB);
    writeFileSync(path.join(root, 'oem/90.yaml'), '#cloud-config\nkairos-spegel: {node_ip: 10.9.9.9}\n');
    const r = await runAgent(['--root', root, '--json', 'configure', '--dry-run'], { timeoutMs: 30_000 });
    expect(r.signal, 'it ended by itself').toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(path.join(root, 'oem/50_bomb.yaml'));
    expect(r.stderr).toMatch(/YAML aliases expand to more than 100000 values/);
  });

  /** A file that must not be read whole: 5 MiB of YAML, a FIFO nobody writes to, a link to /dev/zero. */
  const HOSTILE_FILES: [string, (file: string) => void, RegExp][] = [
    ['5 MiB', (f) => writeFileSync(f, `#cloud-config\n# ${'x'.repeat(5 * 2 ** 20)}\n`), /5(\.0)? MiB, more than the 4(\.0)? MiB a configuration file may have/],
    ['a FIFO', (f) => execFileSync('mkfifo', [f]), /not a regular file/],
    ['a link to /dev/zero', (f) => symlinkSync('/dev/zero', f), /more than the 4(\.0)? MiB a configuration file may have/],
  ];

  it.each(HOSTILE_FILES)('--config naming %s: refused at once, naming the file', async (_what, make, message) => {
    const file = path.join(dir, `hostile-config-${_what.replace(/\W/g, '')}.yaml`);
    make(file);
    const r = await runAgent(['--config', file, '--root', dir, '--json', 'configure', '--dry-run'], { timeoutMs: 30_000 });
    expect(r.signal, 'it ended by itself').toBeNull();
    expect(r.code).toBe(2);
    expect((JSON.parse(r.stdout) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringMatching(new RegExp(`^${file.replaceAll('.', '\\.')}: .*${message.source}`)),
    });
  });

  // Under --root a link to /dev/zero resolves inside the root (the confinement): only the first two apply there.
  it.each(HOSTILE_FILES.slice(0, 2))('a cloud-config file that is %s: skipped with a warning, the others apply', async (_what, make) => {
    const root = path.join(dir, `hostile-oem-${_what.replace(/\W/g, '')}`);
    mkdirSync(path.join(root, 'oem'), { recursive: true });
    make(path.join(root, 'oem/50_hostile.yaml'));
    writeFileSync(path.join(root, 'oem/90.yaml'), '#cloud-config\nkairos-spegel: {node_ip: 10.9.9.9}\n');
    const r = await runAgent(['--root', root, '--json', 'configure', '--dry-run'], { timeoutMs: 30_000 });
    expect(r.signal, 'it ended by itself').toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`"level":"warn".*"file":"${path.join(root, 'oem/50_hostile.yaml')}".*cloud-config file skipped`));
    expect(r.stdout).toContain('10.9.9.9');
  });

  it.each([
    ['hosts.toml', 'etc/containerd/certs.d/registry.test/hosts.toml', ['prepull', 'registry.test/app:v1']],
    ['registries.yaml', 'etc/rancher/k3s/registries.yaml', ['prepull', 'registry.test/app:v1']],
    ['a password file', 'etc/kairos-spegel/registry.token', ['prepull', 'registry.test/app:v1']],
  ])('%s as a FIFO nobody writes to: E_CONFIG naming it, no read', async (_what, nodePath, args) => {
    const root = path.join(dir, `hostile-${_what.replace(/\W/g, '')}`);
    mkdirSync(path.join(root, 'oem'), { recursive: true });
    writeFileSync(
      path.join(root, 'oem/90.yaml'),
      '#cloud-config\nkairos-spegel:\n  distro: containerd\n  credentials:\n    - registry: registry.test\n      username: bot\n      password_file: /etc/kairos-spegel/registry.token\n',
    );
    mkdirSync(path.join(root, 'etc/kairos-spegel'), { recursive: true });
    writeFileSync(path.join(root, 'etc/kairos-spegel/registry.token'), `${PASSWORDS.registry}\n`);
    mkdirSync(path.dirname(path.join(root, nodePath)), { recursive: true });
    rmSync(path.join(root, nodePath), { force: true });
    execFileSync('mkfifo', [path.join(root, nodePath)]);
    const r = await runAgent(['--root', root, '--json', ...args], { timeoutMs: 30_000 });
    expect(r.signal, 'it ended by itself').toBeNull();
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect((JSON.parse(r.stdout) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringMatching(new RegExp(`/${nodePath}\\b.*not a regular file`)),
    });
  });
});

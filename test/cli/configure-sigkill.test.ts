/**
 * kill -9 at random moments during configure: every file on disk then parses and
 * equals its old or its new content, never a mix, and stray temp files are cleaned up.
 */
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import TOML from '@iarna/toml';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { AGENT, runAgent } from '../../testbed/agent.ts';
import { tempDir } from '../../testbed/tmp.ts';

const OLD = {
  'etc/containerd/certs.d/_default/hosts.toml': 'server = "https://r.example"\n\n[host."https://cache.example"]\n  capabilities = ["pull"]\n',
  'etc/k0s/containerd.d/spegel.toml': 'version = 2\n',
  'etc/rancher/k3s/registries.yaml': 'mirrors:\n  docker.io: {}\n',
};

function killAfter(args: string[], ms: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(AGENT, args, { stdio: 'ignore' });
    const t = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

describe('configure under kill -9', () => {
  it.each([
    [
      'containerd and k0s files',
      'kairos-spegel:\n  distro: k0s\n  node_ip: 10.9.9.9\n  mirror: {ports: [30020, 30021]}\n  containerd: {config_version: 3}\n',
      ['etc/containerd/certs.d/_default/hosts.toml', 'etc/k0s/containerd.d/spegel.toml'],
    ],
    ['k3s registries.yaml', 'kairos-spegel:\n  distro: k3s\n', ['etc/rancher/k3s/registries.yaml']],
  ])('%s: 60 random kills, each file old or new', async (_name, config, files) => {
    const root = tempDir('ks-kill-');
    mkdirSync(path.join(root, 'oem'));
    writeFileSync(path.join(root, 'oem/90.yaml'), `#cloud-config\n${config}`);
    const reset = () => {
      for (const f of files) {
        mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
        writeFileSync(path.join(root, f), OLD[f as keyof typeof OLD]);
      }
    };
    // The new content: what an uninterrupted run writes.
    reset();
    expect((await runAgent(['--root', root, 'configure'])).code).toBe(0);
    const NEW = Object.fromEntries(files.map((f) => [f, readFileSync(path.join(root, f), 'utf8')]));
    for (const f of files) expect(NEW[f]).not.toBe(OLD[f as keyof typeof OLD]);

    // Learn how long a run takes, then kill uniformly across it.
    reset();
    const t0 = performance.now();
    await runAgent(['--root', root, '--log-level', 'silent', 'configure']);
    const span = (performance.now() - t0) * 1.2;

    const outcomes = { old: 0, new: 0 };
    for (let i = 0; i < 60; i++) {
      reset();
      await killAfter(['--root', root, '--log-level', 'silent', 'configure'], Math.random() * span);
      for (const f of files) {
        const text = readFileSync(path.join(root, f), 'utf8');
        if (f.endsWith('.toml')) TOML.parse(text);
        else parseYaml(text);
        expect([OLD[f as keyof typeof OLD], NEW[f]]).toContain(text);
        outcomes[text === NEW[f] ? 'new' : 'old']++;
      }
    }
    // The kills landed on both sides of the writes.
    expect(outcomes.old).toBeGreaterThan(0);
    expect(outcomes.new).toBeGreaterThan(0);

    // A completed run removes temp files that killed runs left behind.
    expect((await runAgent(['--root', root, 'configure'])).code).toBe(0);
    for (const f of files) expect(readdirSync(path.dirname(path.join(root, f))).filter((n) => n.includes('kairos-spegel-tmp'))).toEqual([]);
  });
});

/**
 * A node root for prepull tests: hosts.toml naming the mirrors and the registry's server,
 * the agent's config, and checks on the resulting store (every blob's sha256 matches its
 * name; skopeo can read the image).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { PrepullReport } from '../src/app/prepull.ts';
import type { ErrorCode } from '../src/errors.ts';
import { runAgent } from './agent.ts';
import { must } from './proc.ts';
import type { RunResult } from './proc.ts';

export const STORE = '/usr/local/kairos-spegel/store';

/** What `prepull --json` prints. */
export type PrepullJson = PrepullReport;

/** What any command prints with --json when it fails. */
export interface ErrorJson {
  code: ErrorCode;
  exit_code: number;
  message: string;
  hint: string | null;
}

export class PullBed {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
    mkdirSync(path.join(root, 'oem'), { recursive: true });
    this.config('');
  }

  get store(): string {
    return path.join(this.root, STORE);
  }

  /** hosts.toml for `registry`: mirror URLs in order, then `server` (default: the registry over http). */
  hosts(registry: string, mirrors: string[], server = `http://${registry}`, extra = ''): void {
    const dir = path.join(this.root, 'etc/containerd/certs.d', registry);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'hosts.toml'), [`server = "${server}"`, '', ...mirrors.flatMap((m) => [`[host."${m}"]`, '  capabilities = ["pull", "resolve"]', '']), extra].join('\n'));
  }

  /** The kairos-spegel block (YAML lines below `kairos-spegel:`, indented by two). */
  config(block: string): void {
    writeFileSync(path.join(this.root, 'oem/90_custom.yaml'), `#cloud-config\nkairos-spegel:\n  distro: containerd\n${block}`);
  }

  async prepull(args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult & { json?: PrepullJson; error?: ErrorJson }> {
    const r = await runAgent(['--root', this.root, '--json', 'prepull', ...args], { env, timeoutMs: 300_000 });
    if (r.code === null) return r; // killed by the test: no document
    const doc = JSON.parse(r.stdout) as { error: ErrorJson } | PrepullJson; // runAgent checked it against its schema
    return 'error' in doc ? { ...r, error: doc.error } : { ...r, json: doc };
  }

  /** Every committed blob's content matches its name; no partial file is left. */
  verifyBlobs(): void {
    const dir = path.join(this.store, 'blobs/sha256');
    const names = readdirSync(dir);
    expect(names.length).toBeGreaterThan(0);
    for (const n of names)
      expect(
        createHash('sha256')
          .update(readFileSync(path.join(dir, n)))
          .digest('hex'),
        n,
      ).toBe(n);
    expect(readdirSync(path.join(this.store, 'ingest'))).toEqual([]);
  }

  async skopeoInspect(ref: string): Promise<{ Digest: string; Layers: string[]; Architecture: string }> {
    return JSON.parse(await must('skopeo', ['inspect', `oci:${this.store}:${ref}`])) as { Digest: string; Layers: string[]; Architecture: string };
  }
}

/**
 * The arm64 build (a cross build: no startup snapshot) is a real aarch64 executable:
 * run under qemu-user with Debian's arm64 cross libraries, it prints its version and
 * ignores NODE_OPTIONS like the native one.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { versionLine } from '../../testbed/agent.ts';
import { must, run } from '../../testbed/proc.ts';
import pkg from '../../package.json' with { type: 'json' };

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'dist/kairos-spegel-arm64');
const qemu = (args: string[], env: NodeJS.ProcessEnv = {}) => run('qemu-aarch64', ['-L', '/usr/aarch64-linux-gnu', BIN, ...args], { env, timeoutMs: 60_000 });

describe('npm run build -- --arch arm64', () => {
  it('builds an aarch64 binary that runs', async () => {
    await must(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--arch', 'arm64'], { cwd: ROOT, timeoutMs: 300_000 });
    expect(await must('readelf', ['-h', BIN])).toMatch(/Machine:\s+AArch64/);
    const r = await qemu(['--json', '--version']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ schema: 'kairos-spegel/version/v1', version: pkg.version, node: expect.stringMatching(/^22\./), arch: 'arm64' });
    const injected = await qemu(['--version'], { NODE_OPTIONS: '--require=/nonexistent.js' });
    expect(injected.stdout).toMatch(versionLine(pkg.version));
  }, 300_000);
});

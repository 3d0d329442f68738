/**
 * Start-up stays small: heavy modules (undici) are reachable from the entry point only
 * through dynamic imports, i.e. loaded by the commands that need them, and so are also
 * kept out of the startup snapshot.
 */
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('bundle', () => {
  it('loads undici only behind a dynamic import', async () => {
    const result = await build({
      entryPoints: [path.join(ROOT, 'src/main.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      metafile: true,
      logLevel: 'silent',
      outdir: '/tmp/unused',
    });
    const inputs = result.metafile.inputs;
    const eager = new Set<string>();
    const queue = ['src/main.ts'];
    while (queue.length > 0) {
      const f = queue.pop()!;
      if (eager.has(f)) continue;
      eager.add(f);
      for (const imp of inputs[f]?.imports ?? []) if (imp.kind !== 'dynamic-import' && !imp.external) queue.push(imp.path);
    }
    expect([...eager].filter((f) => f.includes('node_modules/undici/'))).toEqual([]);
    expect(Object.keys(inputs).some((f) => f.includes('node_modules/undici/'))).toBe(true);
    expect(eager.has('src/health/probe.ts')).toBe(false);
  });
});

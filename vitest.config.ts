import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

const shared = {
  // In-process tests load the native addon the build made (the binary carries its own).
  env: { KAIROS_SPEGEL_NATIVE_ADDON: new URL('./dist/.build/x64/native.node', import.meta.url).pathname },
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
};

export default defineConfig({
  define: { __KAIROS_SPEGEL_VERSION__: JSON.stringify(pkg.version) },
  test: {
    // Tests that start registries and containerd are heavy on a 2-core machine.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { ...shared, name: 'agent', include: ['test/**/*.test.ts'], exclude: ['test/site/**'], sequence: { groupOrder: 0 } } },
      // The five-node site measures times: it runs alone, after everything else.
      { extends: true, test: { ...shared, name: 'site', include: ['test/site/**/*.test.ts'], sequence: { groupOrder: 1 } } },
    ],
  },
});

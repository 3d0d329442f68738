import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  define: { __KAIROS_SPEGEL_VERSION__: JSON.stringify(pkg.version) },
  test: {
    include: ['test/**/*.test.ts'],
    // In-process tests load the xattr addon the build made (the binary carries its own).
    env: { KAIROS_SPEGEL_XATTR_ADDON: new URL('./dist/.build/x64/xattr.node', import.meta.url).pathname },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Tests that start registries and containerd are heavy on a 2-core machine.
    maxWorkers: 2,
  },
});

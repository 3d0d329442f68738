import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * Two loops (npm run test:unit, npm run test:integration):
 *
 * - unit: `*.unit.test.ts` anywhere under test/. They import src/ directly and run in this
 *   process: no built binary or package (dist/), no native addon, no root, no daemons,
 *   registries, containerd or network namespaces, no programs of the machine (a temp
 *   directory and a loopback socket of their own are fine). They run without
 *   KAIROS_SPEGEL_NATIVE_ADDON, so code that needs the addon fails there with E_NATIVE.
 * - integration: every other test but the package's and the site's; needs root, the test
 *   bed (scripts/setup.sh) and `npm run build` (dist/kairos-spegel and the addon).
 * - package: the tests of what `npm run package` makes (dist/*.sysext.raw, the bundle
 *   layout) and the arm64 build; after integration.
 * - site: the five-node site measures times, so it runs alone, last.
 */
const UNIT = 'test/**/*.unit.test.ts';
const PACKAGE = ['test/package/**/*.test.ts', 'test/build/**/*.test.ts', 'test/kairos/sysext.test.ts', 'test/kairos/bundle-stages.test.ts'];
const SITE = 'test/site/**/*.test.ts';

const heavy = {
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
      { extends: true, test: { name: 'unit', include: [UNIT], testTimeout: 10_000, hookTimeout: 10_000, pool: 'forks', sequence: { groupOrder: 0 } } },
      { extends: true, test: { ...heavy, name: 'integration', include: ['test/**/*.test.ts'], exclude: [UNIT, ...PACKAGE, SITE], sequence: { groupOrder: 1 } } },
      { extends: true, test: { ...heavy, name: 'package', include: PACKAGE, exclude: [UNIT], sequence: { groupOrder: 2 } } },
      { extends: true, test: { ...heavy, name: 'site', include: [SITE], exclude: [UNIT], sequence: { groupOrder: 3 } } },
    ],
  },
});

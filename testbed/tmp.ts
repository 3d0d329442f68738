import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

// Registered when a test file imports this module (collection time): a hook registered
// inside a test or a beforeAll is never run, so tempDir does not register its own.
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A temp directory removed after the test file, wherever it is made (test, hook, collection). */
export function tempDir(prefix = 'ks-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

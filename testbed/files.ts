/** Listing a directory tree in tests. */
import { readdirSync } from 'node:fs';
import path from 'node:path';

/** Every file and symlink under `root` (directories only through what they hold), relative and sorted. */
export function listFiles(root: string, prefix = ''): string[] {
  return readdirSync(path.join(root, prefix), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(root, path.join(prefix, e.name)) : [path.join(prefix, e.name)]))
    .sort();
}

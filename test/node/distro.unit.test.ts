/** Distribution: from the setting, the cloud-config's provider blocks, then what is on disk. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectDistro } from '../../src/node/distro.ts';
import { Root } from '../../src/fs/root.ts';
import { tempDir } from '../../testbed/tmp.ts';

function rootWith(...files: string[]): Root {
  const dir = tempDir();
  for (const f of files) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), '');
  }
  return new Root(dir);
}

describe('detectDistro', () => {
  it('uses the setting when it is not auto', async () => {
    expect((await detectDistro('k0s', { k3s: { file: 'x' } }, rootWith('usr/bin/k3s'))).distro).toBe('k0s');
  });
  it('uses the provider blocks of the cloud-config', async () => {
    expect(await detectDistro('auto', { k3s: { file: '/oem/90.yaml', line: 3 } }, rootWith())).toEqual({ distro: 'k3s', reason: 'k3s enabled at /oem/90.yaml:3' });
    expect((await detectDistro('auto', { k0s: { file: '/oem/90.yaml' } }, rootWith('usr/bin/k3s'))).distro).toBe('k0s');
  });
  it('falls back to what is on disk, state before binaries', async () => {
    expect((await detectDistro('auto', {}, rootWith('usr/bin/k3s', 'var/lib/k0s/x'))).distro).toBe('k0s');
    expect((await detectDistro('auto', {}, rootWith('usr/local/bin/k3s'))).distro).toBe('k3s');
    expect((await detectDistro('auto', {}, rootWith('usr/bin/k0s'))).distro).toBe('k0s');
    expect((await detectDistro('auto', {}, rootWith())).distro).toBe('containerd');
  });
});

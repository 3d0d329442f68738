/** status --system's facts: the store's mount, and a fact that cannot be read (the real machine is in system-facts.test.ts). */
import { describe, expect, it } from 'vitest';
import { mountHolding, readSystemFacts, type SystemInformation } from '../../src/node/system-facts.ts';
import { tempDir } from '../../testbed/tmp.ts';

describe('mountHolding', () => {
  const mounts = [{ mount: '/' }, { mount: '/usr/local' }, { mount: '/usr/local/kairos-spegel-other' }, { mount: '/var' }];
  it('takes the deepest mount point that contains the path, on a path boundary', () => {
    expect(mountHolding('/usr/local/kairos-spegel/store', mounts)).toEqual({ mount: '/usr/local' });
    expect(mountHolding('/usr/local', mounts)).toEqual({ mount: '/usr/local' });
    expect(mountHolding('/variable', mounts)).toEqual({ mount: '/' });
    expect(mountHolding('/x', [{ mount: '/y' }])).toBeUndefined();
  });
  it('takes the last of two mounts on one mount point: it hides the other', () => {
    expect(
      mountHolding('/var/x', [
        { mount: '/var', n: 1 },
        { mount: '/var', n: 2 },
      ]),
    ).toEqual({ mount: '/var', n: 2 });
  });
});

describe('readSystemFacts', () => {
  it('leaves a fact that cannot be read null with a note, and reads the others', async () => {
    const broken = () => Promise.reject(new Error('spawn lsb_release ENOENT'));
    const si = {
      osInfo: broken,
      cpu: () => Promise.resolve({ manufacturer: 'Intel', brand: 'Xeon', cores: 0 }),
      mem: () => Promise.resolve({ total: 0, available: 0 }),
      fsSize: () => Promise.resolve([{ fs: '/dev/vdb', type: 'ext4', size: 100, used: 40, available: 60, use: 40, mount: '/nowhere', rw: true }]),
      networkInterfaces: () => Promise.resolve([{ iface: 'eth0', mac: '', ip4: '10.0.0.5', ip6: '', operstate: 'up' }]),
    } as unknown as SystemInformation;
    const store = `${tempDir()}/not/yet/store`;
    const facts = await readSystemFacts(store, si);
    expect(facts).toMatchObject({ os: null, cpu: null, memory: null, store_filesystem: null, interfaces: [{ name: 'eth0', mac: null, ipv4: '10.0.0.5', ipv6: null, state: 'up' }] });
    expect(facts.notes).toEqual([
      'os: spawn lsb_release ENOENT',
      'cpu: no CPU found',
      'memory: the memory size is unknown',
      `store_filesystem: the file system holding ${store.replace('/not/yet/store', '')} is not listed (tmpfs and other file systems without a device are not)`,
    ]);
  });
});

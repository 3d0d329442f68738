/** Node IP: route tables, preference rules and waiting (detection inside a real namespace is in node-ip.test.ts). */
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { detectNodeIp, pickNodeIp } from '../../src/node/node-ip.ts';
import { parseIpv4Routes, parseIpv6Routes, type DefaultRoute } from '../../src/node/routes.ts';

const V4_ROUTES = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth1\t00000000\t0101A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0
eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0000000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
`;
const V6_ROUTES = `00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000001 00000000 00000003 eth2
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo
`;

function addr(address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo {
  return { address, family, internal, netmask: '', mac: '', cidr: null, scopeid: 0 };
}

describe('route tables', () => {
  it('finds default routes and their metrics', () => {
    expect(parseIpv4Routes(V4_ROUTES)).toEqual([
      { iface: 'eth1', metric: 200, family: 4 },
      { iface: 'eth0', metric: 100, family: 4 },
    ]);
    expect(parseIpv6Routes(V6_ROUTES)).toEqual([{ iface: 'eth2', metric: 0x400, family: 6 }]);
  });
});

describe('pickNodeIp', () => {
  const routes: DefaultRoute[] = [{ iface: 'eth0', metric: 100, family: 4 }];
  it('takes the primary IPv4 of the default-route interface, skipping link-local', () => {
    const r = pickNodeIp(routes, { eth0: [addr('169.254.3.3', 'IPv4'), addr('10.0.0.5', 'IPv4'), addr('10.0.0.6', 'IPv4')], eth1: [addr('192.168.1.2', 'IPv4')] });
    expect(r).toEqual({ ip: '10.0.0.5', family: 4, iface: 'eth0', source: 'default-route' });
  });
  it('prefers IPv4 but uses a global IPv6 when there is no IPv4', () => {
    expect(pickNodeIp(routes, { eth0: [addr('fe80::1', 'IPv6'), addr('fd00::5', 'IPv6')] })).toMatchObject({ ip: 'fd00::5', family: 6 });
    expect(pickNodeIp(routes, { eth0: [addr('fd00::5', 'IPv6'), addr('10.0.0.5', 'IPv4')] })).toMatchObject({ ip: '10.0.0.5', family: 4 });
  });
  it('never takes loopback', () => {
    expect(pickNodeIp([{ iface: 'lo', metric: 0, family: 4 }], { lo: [addr('127.0.0.1', 'IPv4', true)] })).toMatch(/no usable address/);
  });
  it('uses the configured interface', () => {
    expect(pickNodeIp(routes, { eth0: [addr('10.0.0.5', 'IPv4')], eth1: [addr('192.168.1.2', 'IPv4')] }, 'eth1')).toMatchObject({ ip: '192.168.1.2', source: 'interface' });
    expect(pickNodeIp(routes, {}, 'eth9')).toMatch(/interface eth9 does not exist/);
  });
  it('explains the absence of a default route', () => {
    expect(pickNodeIp([], { eth0: [addr('10.0.0.5', 'IPv4')] })).toMatch(/no default route/);
  });
});

describe('detectNodeIp', () => {
  it('waits for the address to appear', async () => {
    let calls = 0;
    const ip = await detectNodeIp({ waitMs: 5000, pollMs: 20, procDir: '/nonexistent', iface: 'eth0', interfaces: () => (++calls < 3 ? {} : { eth0: [addr('10.0.0.5', 'IPv4')] }) });
    expect(ip.ip).toBe('10.0.0.5');
    expect(calls).toBe(3);
  });
  it('fails after wait_for_ip with a message that names the fix', async () => {
    const started = Date.now();
    await expect(detectNodeIp({ waitMs: 300, pollMs: 50, procDir: '/nonexistent', interfaces: () => ({}) })).rejects.toThrow(
      /cannot determine the node IP: the node has no default route \(yet\) after waiting/,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });
});

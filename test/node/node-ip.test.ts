/** Node IP: detection inside a real network namespace, by the binary (the rules are in node-ip.unit.test.ts). */
import { afterAll, describe, expect, it } from 'vitest';
import { runAgent } from '../../testbed/agent.ts';
import { createNode, type TestNode } from '../../testbed/netns.ts';

describe('node IP inside real network namespaces', () => {
  const nodes: TestNode[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.destroy();
  });

  it('detects the IPv4 of the default-route interface', async () => {
    const node = await createNode({ ip: '10.66.0.7' });
    nodes.push(node);
    const r = await runAgent(['--root', '/nonexistent-root', '--json', '--config', '/dev/null', 'configure', '--dry-run'], { node });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ node_ip: '10.66.0.7' });
  });

  it('detects an IPv6-only node and brackets it in the mirror URL', async () => {
    const node = await createNode({ ipv6: true, ip: 'fd00:66::7' });
    nodes.push(node);
    const r = await runAgent(['--root', '/nonexistent-root', '--json', '--config', '/dev/null', 'configure', '--dry-run'], { node });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { node_ip: string; diff: string };
    expect(out.node_ip).toBe('fd00:66::7');
    expect(out.diff).toContain("[host.'http://[fd00:66::7]:30020']");
  });
});

/** hosts.toml: Spegel's shape for our tables, the user's content kept after them, re-runs stable. */
import TOML from '@iarna/toml';
import { describe, expect, it } from 'vitest';
import { mergeHostsToml, type MirrorHost } from '../../src/mirror/hosts-toml.ts';
import { ConfigError } from '../../src/errors.ts';

const F = '/etc/containerd/certs.d/_default/hosts.toml';
const mirror = (ip: string, ports = [30020], resolve = true): MirrorHost[] =>
  ports.map((p) => ({ url: `http://${ip.includes(':') ? `[${ip}]` : ip}:${p}`, capabilities: resolve ? ['pull', 'resolve'] : ['pull'], dialTimeoutMs: 200 }));

function hostsOf(text: string): string[] {
  return Object.keys((TOML.parse(text) as { host?: Record<string, unknown> }).host ?? {});
}

describe('mergeHostsToml', () => {
  it('fresh _default: exactly the shape Spegel writes, plus our marker', () => {
    const { text } = mergeHostsToml(undefined, mirror('10.0.0.5'), F);
    expect(text).toBe("# managed by kairos-spegel\n[host.'http://10.0.0.5:30020']\ncapabilities = ['pull', 'resolve']\ndial_timeout = '200ms'\n");
    expect(TOML.parse(text)).toEqual({ host: { 'http://10.0.0.5:30020': { capabilities: ['pull', 'resolve'], dial_timeout: '200ms' } } });
  });

  it('fresh explicit registry: server line first, as Spegel writes for docker.io', () => {
    const { text } = mergeHostsToml(undefined, mirror('10.0.0.5', [30020, 30021], false), '/x/docker.io/hosts.toml', 'https://registry-1.docker.io');
    expect(text).toBe(
      [
        "server = 'https://registry-1.docker.io'",
        '',
        '# managed by kairos-spegel',
        "[host.'http://10.0.0.5:30020']",
        "capabilities = ['pull']",
        "dial_timeout = '200ms'",
        '',
        '# managed by kairos-spegel',
        "[host.'http://10.0.0.5:30021']",
        "capabilities = ['pull']",
        "dial_timeout = '200ms'",
        '',
      ].join('\n'),
    );
  });

  it('keeps an existing user mirror, byte for byte, after ours', () => {
    const user = '# my pull-through cache\n[host."https://cache.example:5000"]\n  capabilities = ["pull"]\n\n  [host."https://cache.example:5000".header]\n    Authorization = ["Basic abc"]\n';
    const { text } = mergeHostsToml(user, mirror('10.0.0.5'), F);
    expect(hostsOf(text)).toEqual(['http://10.0.0.5:30020', 'https://cache.example:5000']);
    expect(text.endsWith(`${user.trimEnd()}\n`)).toBe(true);
    expect((TOML.parse(text) as any).host['https://cache.example:5000'].header).toEqual({ Authorization: ['Basic abc'] });
  });

  it('keeps server, ca, client and skip_verify at the top and does not add a server', () => {
    const user = 'server = "https://reg.example"\nca = "/etc/certs/reg.pem"\nclient = [["/etc/certs/c.pem", "/etc/certs/c.key"]]\nskip_verify = false\n';
    const { text } = mergeHostsToml(user, mirror('10.0.0.5'), '/x/reg.example/hosts.toml', 'https://ignored.example');
    expect(text.startsWith(user)).toBe(true);
    const parsed = TOML.parse(text) as any;
    expect(parsed.server).toBe('https://reg.example');
    expect(parsed.ca).toBe('/etc/certs/reg.pem');
    expect(parsed.client).toEqual([['/etc/certs/c.pem', '/etc/certs/c.key']]);
    expect(parsed.skip_verify).toBe(false);
    expect(hostsOf(text)).toEqual(['http://10.0.0.5:30020']);
    expect(text).not.toContain('ignored.example');
  });

  it('IPv6 node: bracketed host in the URL', () => {
    const { text } = mergeHostsToml(undefined, mirror('fd00:77::2'), F);
    expect(text).toContain("[host.'http://[fd00:77::2]:30020']");
    expect(hostsOf(text)).toEqual(['http://[fd00:77::2]:30020']);
  });

  it('unchanged re-run gives the same bytes, also with user content', () => {
    const user = 'server = "https://r.example"\n\n[host."https://m.example"]\ncapabilities = ["pull"]\n';
    const once = mergeHostsToml(user, mirror('10.0.0.5', [30020, 30021]), F).text;
    const twice = mergeHostsToml(once, mirror('10.0.0.5', [30020, 30021]), F).text;
    expect(twice).toBe(once);
  });

  it('port removed: our table for it goes, nothing else changes', () => {
    const user = '[host."https://m.example"]\ncapabilities = ["pull"]\n';
    const two = mergeHostsToml(user, mirror('10.0.0.5', [30020, 30021]), F).text;
    const one = mergeHostsToml(two, mirror('10.0.0.5', [30020]), F).text;
    expect(hostsOf(one)).toEqual(['http://10.0.0.5:30020', 'https://m.example']);
    expect(one).toBe(mergeHostsToml(user, mirror('10.0.0.5', [30020]), F).text);
  });

  it('IP changed: our tables are replaced, not added to', () => {
    const user = '[host."https://m.example"]\ncapabilities = ["pull"]\n';
    const before = mergeHostsToml(user, mirror('10.0.0.5', [30020, 30021]), F).text;
    const after = mergeHostsToml(before, mirror('10.0.0.9', [30020, 30021]), F).text;
    expect(hostsOf(after)).toEqual(['http://10.0.0.9:30020', 'http://10.0.0.9:30021', 'https://m.example']);
    expect(after).not.toContain('10.0.0.5');
  });

  it("adopts a hand-written table for our exact URL (e.g. the docs' user-data recipe) and keeps its header sub-table", () => {
    const user = "[host.'http://10.0.0.5:30020']\ncapabilities = ['pull', 'resolve']\n\n[host.'http://10.0.0.5:30020'.header]\nAuthorization = 'Basic eA=='\n";
    const r = mergeHostsToml(user, mirror('10.0.0.5'), F);
    expect(hostsOf(r.text)).toEqual(['http://10.0.0.5:30020']);
    expect((TOML.parse(r.text) as any).host['http://10.0.0.5:30020']).toEqual({ capabilities: ['pull', 'resolve'], dial_timeout: '200ms', header: { Authorization: 'Basic eA==' } });
    expect(r.notes.join()).toMatch(/replaced the table/);
    expect(mergeHostsToml(r.text, mirror('10.0.0.5'), F).text).toBe(r.text);
  });

  it('drops header sub-tables of our old URL when it goes away, and says so', () => {
    const first = mergeHostsToml(undefined, mirror('10.0.0.5'), F).text + "\n[host.'http://10.0.0.5:30020'.header]\nX = 'y'\n";
    const r = mergeHostsToml(first, mirror('10.0.0.9'), F);
    expect(r.text).not.toContain('10.0.0.5');
    expect(r.notes.join()).toMatch(/dropped \[host\.http:\/\/10\.0\.0\.5:30020\.header\]/);
  });

  it('handles multi-line arrays and strings that look like table headers', () => {
    const user = 'client = [\n  ["/a.pem",\n   "/a.key"],\n]\nnote = """\n[host."not-a-table"]\n"""\n';
    const { text } = mergeHostsToml(user, mirror('10.0.0.5'), F);
    expect(text.startsWith(user)).toBe(true);
    expect(hostsOf(text)).toEqual(['http://10.0.0.5:30020']);
  });

  it('refuses invalid TOML, naming the file and line', () => {
    expect(() => mergeHostsToml('server = "x"\nbad = \n', mirror('10.0.0.5'), F)).toThrow(ConfigError);
    expect(() => mergeHostsToml('server = "x"\nbad = \n', mirror('10.0.0.5'), F)).toThrow(new RegExp(`^${F}:2:\\d+: not valid TOML`));
  });

  it('refuses a file whose host table is inline, with the fix', () => {
    let err: ConfigError | undefined;
    try {
      mergeHostsToml('host = { "https://m.example" = { capabilities = ["pull"] } }\n', mirror('10.0.0.5'), F);
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err?.message).toMatch(/cannot add the mirror tables to this file/);
    expect(err?.hint).toMatch(/\[host\."URL"\] tables/);
  });
});

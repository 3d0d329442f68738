/** k3s registries.yaml: mirrors listed for the embedded registry, the user's mirrors and configs kept. */
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { mergeRegistriesYaml } from '../../src/mirror/registries-yaml.ts';
import { ConfigError } from '../../src/errors.ts';

const F = '/etc/rancher/k3s/registries.yaml';

describe('mergeRegistriesYaml', () => {
  it('fresh: the wildcard, quoted, as k3s requires', () => {
    const r = mergeRegistriesYaml(undefined, ['*'], F);
    expect(r.text).toBe('mirrors:\n  # managed by kairos-spegel\n  "*": {}\n');
    expect(parse(r.text)).toEqual({ mirrors: { '*': {} } });
  });

  it("keeps the user's mirrors with endpoints, configs and comments", () => {
    const user =
      '# site registries\nmirrors:\n  docker.io:\n    endpoint:\n      - "https://cache.example:5000"\nconfigs:\n  "cache.example:5000":\n    auth: {username: u, password: p}\n    tls: {insecure_skip_verify: true}\n';
    const r = mergeRegistriesYaml(user, ['*'], F);
    const parsed = parse(r.text);
    expect(parsed.mirrors).toEqual({ 'docker.io': { endpoint: ['https://cache.example:5000'] }, '*': {} });
    expect(parsed.configs).toEqual({ 'cache.example:5000': { auth: { username: 'u', password: 'p' }, tls: { insecure_skip_verify: true } } });
    expect(r.text).toContain('# site registries');
  });

  it('leaves a registry the user already lists alone', () => {
    const user = 'mirrors:\n  docker.io:\n    endpoint: ["https://m.example"]\n';
    const r = mergeRegistriesYaml(user, ['docker.io'], F);
    expect(r.text).toBe(user);
  });

  it('an unchanged re-run returns the same bytes', () => {
    const once = mergeRegistriesYaml('mirrors:\n  quay.io: {}\n', ['*', 'docker.io'], F).text;
    const twice = mergeRegistriesYaml(once, ['*', 'docker.io'], F);
    expect(twice.text).toBe(once);
  });

  it('removes only its own entries when the list changes', () => {
    const once = mergeRegistriesYaml('mirrors:\n  quay.io: {}\n', ['*'], F).text;
    const now = mergeRegistriesYaml(once, ['docker.io', 'ghcr.io'], F);
    expect(Object.keys(parse(now.text).mirrors)).toEqual(['quay.io', 'docker.io', 'ghcr.io']);
    const back = mergeRegistriesYaml(now.text, ['*'], F);
    expect(Object.keys(parse(back.text).mirrors)).toEqual(['quay.io', '*']);
  });

  it('recognises its entry when it is the first under mirrors', () => {
    const once = mergeRegistriesYaml(undefined, ['*', 'docker.io'], F).text;
    const next = mergeRegistriesYaml(once, ['docker.io'], F);
    expect(Object.keys(parse(next.text).mirrors)).toEqual(['docker.io']);
  });

  it('rejects a mirrors value that is not a mapping, and invalid YAML, naming the file', () => {
    expect(() => mergeRegistriesYaml('mirrors: [docker.io]\n', ['*'], F)).toThrow(ConfigError);
    expect(() => mergeRegistriesYaml('mirrors: [docker.io]\n', ['*'], F)).toThrow(`${F}: mirrors: expected a mapping of registry names`);
    expect(() => mergeRegistriesYaml('mirrors:\n  a: [\n', ['*'], F)).toThrow(new RegExp(`^${F}:\\d+:\\d+: not valid YAML`));
  });
});

import { describe, expect, it } from 'vitest';
import { parseChallenges } from '../../src/registry/auth/challenge.ts';

describe('WWW-Authenticate', () => {
  it('reads a Docker Hub Bearer challenge', () => {
    expect(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/ubuntu:pull' } },
    ]);
  });
  it('reads several challenges in one header, unquoted values and escapes', () => {
    expect(parseChallenges('Bearer realm="https://a/t", service=reg, Basic realm="R \\"x\\""')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://a/t', service: 'reg' } },
      { scheme: 'basic', params: { realm: 'R "x"' } },
    ]);
  });
  it('tolerates nothing and bare schemes', () => {
    expect(parseChallenges('')).toEqual([]);
    expect(parseChallenges('Basic')).toEqual([{ scheme: 'basic', params: {} }]);
  });
});

import { describe, expect, it } from 'vitest';
import { formatImageRef, parseImageRef } from '../../src/registry/reference.ts';

const D = `sha256:${'a'.repeat(64)}`;

describe('image references', () => {
  it.each([
    ['ubuntu', { registry: 'docker.io', repository: 'library/ubuntu', tag: 'latest' }],
    ['ubuntu:24.04', { registry: 'docker.io', repository: 'library/ubuntu', tag: '24.04' }],
    ['kairos/agent', { registry: 'docker.io', repository: 'kairos/agent', tag: 'latest' }],
    ['index.docker.io/library/ubuntu', { registry: 'docker.io', repository: 'library/ubuntu', tag: 'latest' }],
    ['quay.io/kairos/ubuntu:24.04-standard-amd64-generic-v3.6.0', { registry: 'quay.io', repository: 'kairos/ubuntu', tag: '24.04-standard-amd64-generic-v3.6.0' }],
    ['localhost/x', { registry: 'localhost', repository: 'x', tag: 'latest' }],
    ['127.0.0.1:5000/a/b/c:t', { registry: '127.0.0.1:5000', repository: 'a/b/c', tag: 't' }],
    [`ghcr.io/o/i@${D}`, { registry: 'ghcr.io', repository: 'o/i', digest: D }],
    [`ghcr.io/o/i:t@${D}`, { registry: 'ghcr.io', repository: 'o/i', tag: 't', digest: D }],
    ['[fd00::1]:5000/x', { registry: '[fd00::1]:5000', repository: 'x', tag: 'latest' }],
    ['my-registry.example.com:443/team/app:v1', { registry: 'my-registry.example.com:443', repository: 'team/app', tag: 'v1' }],
  ])('%s', (text, want) => {
    expect(parseImageRef(text)).toEqual(want);
  });
  it('formats back canonically', () => {
    expect(formatImageRef(parseImageRef('ubuntu'))).toBe('docker.io/library/ubuntu:latest');
  });
  it.each(['', 'UPPER/case', 'a//b', 'reg.io/x@sha256:short', 'x:', 'x:bad tag', '../x', './x', 'a..b/x', '-a.io/x', 'reg.io:99999/x', 'reg.io:/x', `${'a'.repeat(250)}.io/x`])(
    'rejects %j',
    (text) => {
      expect(() => parseImageRef(text)).toThrow(/invalid image reference/);
    },
  );
});

/**
 * How the source walk ends when no source provides the content: "not found" when every
 * source said so by its error code (whatever its words); otherwise the code the other
 * sources agree on (a refusal stays a refusal), else a network failure; with the
 * registries' own diagnostics kept.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Root } from '../../src/fs/root.ts';
import { parseHostsFile } from '../../src/hosts/hosts-file.ts';
import { createLogger } from '../../src/log/logger.ts';
import { walkSources, type WalkContext } from '../../src/pull/source-walker.ts';
import { RegistryError } from '../../src/registry/errors.ts';
import { openSource, type Source } from '../../src/registry/source.ts';

const hosts = parseHostsFile('server = "https://registry.test"\n\n[host."http://10.0.0.5:30020"]\n', '/etc/containerd/certs.d/registry.test/hosts.toml', 'registry.test');
const sources: Source[] = await Promise.all(hosts.map((h) => openSource(new Root('/'), h, 'registry.test', { credential: undefined, deadlineMs: 1000 })));
afterAll(() => Promise.all(sources.map((s) => s.transport.close())));

const ctx: WalkContext = { sources, policy: { mode: 'always' }, startedAt: Date.now(), log: createLogger({ level: 'silent', pretty: false }), deadlineMs: 1000 };

describe('walkSources, when no source has it', () => {
  it('every source answered E_NOT_FOUND, in whatever words: E_NOT_FOUND', async () => {
    const err = await walkSources(ctx, 'blob sha256:x', async (s) => {
      throw new RegistryError('E_NOT_FOUND', s.role === 'mirror' ? `${s.origin} has no pull capability` : `${s.origin}: blob: HTTP 404 (BLOB_UNKNOWN)`);
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_NOT_FOUND', message: expect.stringMatching(/^no source could provide blob sha256:x: /) });
  });

  it('a failure whose words say "not found": not E_NOT_FOUND, and the registry\'s diagnostics are kept', async () => {
    const diagnostic = { code: 'UNKNOWN', message: 'storage backend: object not found' };
    const err = await walkSources(ctx, 'blob sha256:x', async (s) => {
      if (s.role === 'mirror') throw new RegistryError('E_NOT_FOUND', `${s.origin}: not found (HTTP 404)`);
      throw new RegistryError('E_HTTP', `${s.origin}: blob: HTTP 500: UNKNOWN: storage backend: object not found`, undefined, { registryErrors: [diagnostic] });
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_HTTP', registryErrors: [diagnostic], message: expect.stringContaining('HTTP 500: UNKNOWN: storage backend: object not found') });
  });

  it("the upstream's refusal is not hidden by a mirror that merely lacks it: E_UNAUTHORIZED", async () => {
    const err = await walkSources(ctx, 'manifest sha256:x', async (s) => {
      if (s.role === 'mirror') throw new RegistryError('E_NOT_FOUND', `${s.origin}: not found (HTTP 404)`);
      throw new RegistryError('E_UNAUTHORIZED', `${s.origin}: HTTP 403: DENIED: requested access to the resource is denied`);
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringContaining('DENIED') });
  });

  it('sources failing in different ways: E_NETWORK', async () => {
    const err = await walkSources(ctx, 'blob sha256:x', async (s) => {
      throw s.role === 'mirror' ? new RegistryError('E_DIGEST', `${s.origin} sent bytes that do not match`) : new RegistryError('E_HTTP', `${s.origin}: HTTP 500`);
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_NETWORK' });
  });
});

/**
 * The metrics renderer: HELP and TYPE before each family's samples, families without
 * samples left out, label values escaped as the text format requires, and promtool (the
 * Prometheus project's own checker and linter) accepting the result.
 */
import { describe, expect, it } from 'vitest';
import { escapeLabelValue, renderMetrics, type MetricFacts } from '../../src/metrics/exposition.ts';
import { parseSamples, promtoolCheck } from '../../testbed/prometheus-text.ts';

const FACTS: MetricFacts = {
  images: [
    {
      image: 'registry.local:5000/kairos/os:v3.6.1',
      digest: `sha256:${'a'.repeat(64)}`,
      staged: true,
      seeded: false,
      applied: false,
      bytesFromPeers: 1234,
      bytesFromUpstream: 0,
    },
  ],
  bytesFromPeers: 1234,
  bytesFromUpstream: 99,
  runs: [
    { command: 'health', at: 1764745943.5, exitCode: 4 },
    { command: 'prepull', at: 1764745900, exitCode: 0 },
  ],
  health: 'unhealthy',
  storeSizeBytes: 4096,
  storeFreeBytes: 10_000_000,
};

describe('renderMetrics', () => {
  it('writes HELP and TYPE once before the samples of each family', async () => {
    const text = renderMetrics(FACTS);
    expect(text).toContain(
      [
        '# HELP kairos_spegel_last_run_success 1 when the last run of the command exited 0.',
        '# TYPE kairos_spegel_last_run_success gauge',
        'kairos_spegel_last_run_success{command="health"} 0',
        'kairos_spegel_last_run_success{command="prepull"} 1',
      ].join('\n'),
    );
    expect(text).toContain(`kairos_spegel_image_staged{image="registry.local:5000/kairos/os:v3.6.1",digest="sha256:${'a'.repeat(64)}"} 1`);
    expect(text).toContain('# TYPE kairos_spegel_image_peer_bytes_total counter\n');
    expect(text).toContain('kairos_spegel_mirror_health 2\n');
    expect(text).toContain('kairos_spegel_last_run_timestamp_seconds{command="health"} 1764745943.5\n');
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) kairos_spegel_\w+ .+|kairos_spegel_\w+(\{.*\})? \S+)$/);
    expect(text.endsWith('\n')).toBe(true);
    await promtoolCheck(text);
  });

  it('leaves out a family without samples, HELP and TYPE included', async () => {
    const { health: _health, ...withoutHealth } = FACTS;
    const text = renderMetrics({ ...withoutHealth, images: [], runs: [] });
    expect(text).not.toContain('image_staged');
    expect(text).not.toContain('last_run');
    expect(text).not.toContain('mirror_health');
    expect(text).toContain('kairos_spegel_store_size_bytes 4096\n');
    await promtoolCheck(text);
  });

  it('escapes backslash, double quote and newline in label values', async () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    const text = renderMetrics({ ...FACTS, images: [{ ...FACTS.images[0]!, image: 'x"}\\\nkairos_spegel_fake 1' }] });
    expect(text).toContain('kairos_spegel_image_seeded{image="x\\"}\\\\\\nkairos_spegel_fake 1",digest=');
    expect(text).not.toMatch(/^kairos_spegel_fake/m);
    expect(parseSamples(text).find((s) => s.name === 'kairos_spegel_image_seeded')?.labels['image']).toBe('x"}\\\nkairos_spegel_fake 1');
    await promtoolCheck(text);
  });
});

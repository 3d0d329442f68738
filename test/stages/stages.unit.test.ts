/**
 * The yip stage file's shape: boot, network and reconcile steps, each running configure with
 * the matching --stage through the launcher's absolute path, bounded by timeout, with no
 * wrapper that would hide a failure from yip. The real kairos-agent runs it in
 * test/kairos/bundle-stages.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

interface Step {
  name: string;
  if?: string;
  commands: string[];
}
const STAGE_FILE = path.resolve(import.meta.dirname, '../../stages/kairos-spegel.yaml');
const doc = parse(readFileSync(STAGE_FILE, 'utf8')) as { name: string; stages: Record<string, Step[]> };

describe('stages/kairos-spegel.yaml', () => {
  it('has boot, network and reconcile steps running configure with the matching --stage, bounded by timeout, failures not caught', () => {
    expect(doc.name).toBe('kairos-spegel');
    expect(Object.keys(doc.stages)).toEqual(['boot', 'network', 'reconcile']);
    for (const [stage, steps] of Object.entries(doc.stages)) {
      for (const step of steps) {
        expect(Object.keys(step).sort()).toEqual(['commands', 'if', 'name']);
        expect(step.name).toBe(`kairos-spegel configure (${stage})`);
        expect(step.if).toBe('[ -x /usr/local/bin/kairos-spegel ]');
        expect(step.commands).toEqual([expect.stringMatching(new RegExp(`^timeout \\d+ /usr/local/bin/kairos-spegel configure --stage ${stage}$`))]);
      }
    }
  });
});

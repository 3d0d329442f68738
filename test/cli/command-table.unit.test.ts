/**
 * What the command table says must match what the code does: health's exit codes (help and
 * README against the catalogue in src/errors.ts), and the values an option offers for
 * completion against the values its command accepts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGES } from '../../src/app/configure.ts';
import { CONFIGURE_OPTIONS, findCommand, GLOBAL_OPTIONS } from '../../src/cli/commands.ts';
import { commandHelp } from '../../src/cli/help.ts';
import { EXIT_DEGRADED, EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE } from '../../src/errors.ts';
import { LOG_LEVELS } from '../../src/log/logger.ts';

const README = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');

describe('health exit codes', () => {
  it('--help states the catalogue codes', () => {
    const help = commandHelp(findCommand('health')!).replace(/\s+/g, ' ');
    expect(help).toContain(`Exit codes: ${EXIT_OK} healthy, ${EXIT_DEGRADED} degraded`);
    expect(help).toContain(`${EXIT_UNHEALTHY} unhealthy (no endpoint answers, or the mirror is not configured); ${EXIT_USAGE} a usage or configuration error`);
  });
  it("README's exit-code table states them too", () => {
    expect(README).toContain(`| ${EXIT_DEGRADED} | \`health\`: degraded:`);
    expect(README).toContain(`| ${EXIT_UNHEALTHY} | \`health\`: unhealthy:`);
  });
});

describe('option choices', () => {
  it('are the values the command accepts', () => {
    expect(CONFIGURE_OPTIONS.stage.choices).toEqual(STAGES);
    expect(GLOBAL_OPTIONS['log-level'].choices).toEqual(LOG_LEVELS);
  });
});

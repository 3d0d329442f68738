/** --help texts, generated from the command table so they cannot drift from the parser. */
import { VERSION } from '../version.ts';
import type { CommandSpec, OptionSpec } from './command.ts';
import { COMMANDS, GLOBAL_OPTIONS } from './commands.ts';

function optionLines(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(([name, o]) => [`${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`, o.description]);
  const width = Math.max(...rows.map((r) => r[0]!.length));
  return rows.map(([l, d]) => `  ${l!.padEnd(width)}  ${d}`);
}

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `kairos-spegel ${VERSION}: the Kairos node agent for Spegel peer-to-peer image distribution`,
    '',
    'Usage: kairos-spegel [options] <command> [command options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Exit codes: 0 success, 1 failure, 2 usage or configuration error (health: see its --help).',
    "Run 'kairos-spegel <command> --help' for a command's options.",
    '',
  ].join('\n');
}

export function commandHelp(cmd: CommandSpec): string {
  return [`Usage: ${cmd.usage}`, '', cmd.summary, '', cmd.description, '', 'Options:', ...optionLines(cmd.options), '', 'Global options:', ...optionLines(GLOBAL_OPTIONS), ''].join('\n');
}

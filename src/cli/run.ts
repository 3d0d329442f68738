/**
 * Command-line entry: finds the command, parses global and command options
 * (node:util parseArgs, strict), sets up logging and output, runs the command and
 * turns what it throws into a message and an exit code.
 */
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { AgentError, ConfigError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, errnoCode, errorMessage, systemError, type ErrorCode } from '../errors.ts';
import { problemOf } from '../app/validate.ts';
import { Root } from '../fs/root.ts';
import { createLogger, LOG_LEVELS, stderrIsJournal, type LogLevel, type Logger } from '../log/logger.ts';
import type { CommandSpec, OptionSpec } from './command.ts';
import { COMMANDS, findCommand, GLOBAL_OPTIONS } from './commands.ts';
import { versionInfo, versionLine } from './commands/version.ts';
import { commandHelp, mainHelp } from './help.ts';
import { createOutput, jsonDocument } from './output.ts';
import { appEnv } from './app-env.ts';
import { nearest } from '../config/suggest.ts';

type ParseOptions = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

function parseSpec(...sets: Record<string, OptionSpec>[]): ParseOptions {
  const out: ParseOptions = {};
  for (const set of sets) for (const [k, o] of Object.entries(set)) out[k] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  return out;
}

/** The command name: the first argument that is not an option or an option's value. */
function findCommandName(argv: string[]): string | undefined {
  const { tokens } = parseArgs({ args: argv, options: parseSpec(GLOBAL_OPTIONS), strict: false, allowPositionals: true, tokens: true });
  return tokens.find((t) => t.kind === 'positional')?.value;
}

function parseCommandLine(argv: string[], cmd: CommandSpec | undefined) {
  const options = parseSpec(GLOBAL_OPTIONS, cmd?.options ?? {});
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (err) {
    const seeHelp = `see 'kairos-spegel ${cmd ? `${cmd.name} ` : ''}--help'`;
    if (errnoCode(err) !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(errorMessage(err).split('. To specify')[0]!, seeHelp);
    // The unknown option, from the parse itself rather than from the wording of the message.
    const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
    const unknown = tokens.find((t) => t.kind === 'option' && !(t.name in options));
    const name = unknown?.kind === 'option' ? unknown.rawName : undefined;
    const guess = name?.startsWith('--') ? nearest(name.slice(2), Object.keys(options)) : undefined;
    throw new UsageError(`unknown option ${name ?? ''}`.trim(), guess ? `did you mean --${guess}?` : seeHelp);
  }
}

/**
 * The error as the user sees it: a log line on stderr (a plain line when there is no
 * logger yet, or when --log-level hides errors: a usage or configuration error must be
 * seen whatever the level), and with --json the error document on stdout.
 */
function printError(err: unknown, log: Logger | undefined, json: boolean): number {
  const agentErr = err instanceof AgentError ? err : systemError(err);
  const code: ErrorCode = agentErr?.code ?? 'E_INTERNAL';
  const exitCode = agentErr?.exitCode ?? EXIT_FAILURE;
  const message = agentErr ? agentErr.message : `internal error: ${(err as Error | undefined)?.stack ?? String(err)}`;
  const hint = agentErr?.hint ?? null;
  if (json) {
    const problems = err instanceof ConfigError ? err.problems.map(problemOf) : null;
    process.stdout.write(jsonDocument('error', { error: { code, exit_code: exitCode, message, hint, problems } }));
  }
  if (log?.isLevelEnabled('error')) log.error({ code, ...(hint ? { hint } : {}) }, message);
  else if (log === undefined || code === 'E_USAGE' || code === 'E_CONFIG') {
    const priority = stderrIsJournal() ? '<3>' : ''; // each line is its own journal entry
    process.stderr.write(`${priority}kairos-spegel: ${message}${hint ? `\n${priority}  hint: ${hint}` : ''}\n`);
  }
  return exitCode;
}

export async function run(argv: string[]): Promise<number> {
  let log: Logger | undefined;
  let json = argv.includes('--json');
  try {
    const name = findCommandName(argv);
    const cmd = name === undefined ? undefined : findCommand(name);
    if (name !== undefined && cmd === undefined && name !== 'help') {
      const guess = nearest(
        name,
        COMMANDS.map((c) => c.name),
      );
      throw new UsageError(`unknown command "${name}"`, guess ? `did you mean "${guess}"?` : "see 'kairos-spegel --help'");
    }
    const { values, positionals } = parseCommandLine(argv, cmd);
    json = values['json'] === true;
    if (values['version']) {
      const v = versionInfo();
      process.stdout.write(json ? jsonDocument('version', v) : `${versionLine(v)}\n`);
      return EXIT_OK;
    }
    if (name === 'help') {
      const topic = positionals[1] === undefined ? undefined : findCommand(positionals[1]);
      process.stdout.write(topic ? commandHelp(topic) : mainHelp());
      return EXIT_OK;
    }
    if (values['help'] || cmd === undefined) {
      process.stdout.write(cmd ? commandHelp(cmd) : mainHelp());
      return cmd === undefined && !values['help'] ? EXIT_USAGE : EXIT_OK;
    }
    const level = (values['log-level'] as string | undefined) ?? 'info';
    if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- isTTY is undefined, not false, off a terminal
    log = createLogger({ level: level as LogLevel, pretty: Boolean(process.stderr.isTTY), journal: stderrIsJournal() }).child({ cmd: cmd.name });

    const commandOptions: Record<string, string | boolean | string[] | undefined> = {};
    for (const k of Object.keys(cmd.options)) commandOptions[k] = values[k] as string | boolean | string[] | undefined;
    const rootDir = (values['root'] as string | undefined) ?? '/';
    await requireDirectory(rootDir, '--root');
    const runCommand = await cmd.load();
    const context = {
      global: { root: new Root(rootDir), configFile: values['config'] as string | undefined, json },
      options: commandOptions,
      positionals: positionals.slice(1),
      log,
      out: createOutput(cmd.name, json),
    };
    let code: number;
    try {
      code = await runCommand(context);
    } catch (err) {
      code = printError(err, log, json);
    }
    // The one place every command ends; a dry run promises to write nothing.
    if (cmd.recorded && values['dry-run'] !== true) await (await import('../app/metrics.ts')).recordRun(appEnv(context), { command: cmd.name, exitCode: code, at: new Date() });
    return code;
  } catch (err) {
    return printError(err, log, json);
  }
}

/** `--root` names a directory (that may not exist yet: configure makes what it writes). */
async function requireDirectory(dir: string, option: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw new UsageError(`${option} ${dir}: ${errorMessage(err)}`);
  }
  if (!isDir) throw new UsageError(`${option} ${dir}: not a directory`);
}

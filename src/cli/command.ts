/** What every command is given, and what it declares about itself for parsing and --help. */
import type { Logger } from '../log/logger.ts';
import type { Root } from '../fs/root.ts';
import type { Output } from './output.ts';

export interface GlobalOptions {
  root: Root;
  configFile?: string;
  json: boolean;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Shown in --help, e.g. "DURATION". */
  value?: string;
  description: string;
  multiple?: boolean;
  /** The values a string option takes, offered by shell completion. */
  choices?: readonly string[];
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type ValueOf<O extends OptionSpec> = O extends { type: 'boolean' }
  ? boolean | undefined
  : O extends { multiple: true }
    ? string[] | undefined
    : O extends { type: 'string' }
      ? string | undefined
      : string | boolean | string[] | undefined;

/** The parsed values of a command's options, typed from its spec. */
export type OptionValues<S extends OptionSpecs> = { -readonly [K in keyof S]: ValueOf<S[K]> };

export interface CommandContext<S extends OptionSpecs = OptionSpecs> {
  global: GlobalOptions;
  options: OptionValues<S>;
  positionals: string[];
  log: Logger;
  out: Output;
}

/** A command parses its arguments into a request, calls its use case (app/) and renders the result; it returns its exit code. */
export type CommandRun<S extends OptionSpecs = OptionSpecs> = (ctx: CommandContext<S>) => Promise<number>;

export interface CommandSpec<S extends OptionSpecs = OptionSpecs> {
  name: string;
  summary: string;
  usage: string;
  description: string;
  options: S;
  /** What follows the command name, for shell completion: one of these words, or file names. */
  operands?: readonly string[] | 'files';
  /**
   * The command acts on the node: each run (but a --dry-run) is recorded and the metrics
   * textfile rewritten after it. Views leave it out and write nothing, so anyone may run them.
   */
  recorded?: true;
  /** Loaded only when the command runs, so heavy modules stay off other commands' start-up. */
  load: () => Promise<CommandRun<S>>;
}

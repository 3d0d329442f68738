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
}

export interface CommandContext {
  global: GlobalOptions;
  /** Values of the command's own options, as parsed by node:util parseArgs. */
  options: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  log: Logger;
  out: Output;
}

/** A command returns its exit code; it throws AgentError subclasses for failures. */
export type CommandRun = (ctx: CommandContext) => Promise<number>;

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  description: string;
  options: Record<string, OptionSpec>;
  /** Loaded only when the command runs, so heavy modules stay off other commands' start-up. */
  load: () => Promise<CommandRun>;
}

/** What every use case is given by the command that calls it. */
import type { Root } from '../fs/root.ts';
import type { Logger } from '../log/logger.ts';

export interface AppEnv {
  root: Root;
  /** --config: one cloud-config file instead of Kairos' directories. */
  configFile?: string;
  log: Logger;
  /** A terminal long work may draw its progress on; without one it logs progress. */
  tty?: NodeJS.WriteStream;
  /** Aborts long work (SIGINT, SIGTERM): locks are released, downloads kept for resume. */
  signal?: AbortSignal;
}

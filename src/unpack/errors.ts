import { AgentError } from '../errors.ts';

/** A layer the agent refuses to apply: malformed, hostile, or not what its digest says. */
export class UnpackError extends AgentError {
  constructor(message: string, hint?: string) {
    super('E_UNPACK', message, { hint });
  }
}

/** Running the build tools, with errors that say which Debian package is missing. */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';

/** A packaging failure with the fix to print under it. */
export class PackageError extends Error {
  readonly fix: string;
  constructor(message: string, fix: string) {
    super(message);
    this.fix = fix;
  }
}

/** Looks `name` up on PATH; `debianPackage` is what provides it on Debian 12. */
export function requireTool(name: string, debianPackage: string): string {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    const candidate = path.join(dir || '.', name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new PackageError(`${name} is missing`, `apt-get install ${debianPackage} (bash scripts/setup.sh installs everything the build needs)`);
}

/** Runs a tool and returns its stdout; a failure carries the tool's stderr. */
export function runTool(file: string, args: string[], opts: { cwd?: string } = {}): string {
  try {
    return execFileSync(file, args, { cwd: opts.cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 2 ** 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new PackageError(`${path.basename(file)} ${args.join(' ')} failed:\n${(e.stderr ?? e.message).trimEnd()}`, 'see the tool output above');
  }
}

/**
 * Reads a template and replaces every @NAME@ with vars[NAME]. A placeholder without a
 * value, or a value without a placeholder, is a bug in the caller: both are refused.
 */
export function render(template: string, vars: Record<string, string>): string {
  const text = readFileSync(template, 'utf8');
  const used = new Set<string>();
  const out = text.replace(/@([A-Z][A-Z0-9_]*)@/g, (_m, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`${template}: no value for @${name}@`);
    used.add(name);
    return value;
  });
  const unused = Object.keys(vars).filter((k) => !used.has(k));
  if (unused.length > 0) throw new Error(`${template}: has no @${unused.join('@, @')}@`);
  return out;
}

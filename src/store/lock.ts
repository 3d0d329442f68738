/**
 * One writer per store: a lock file created exclusively, holding the owner's pid. A lock
 * left by a process that no longer exists (kill -9, power loss) is taken over.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AgentError, errnoCode } from '../errors.ts';
import { pidAlive } from '../fs/pid-alive.ts';

export interface Lock {
  release(): Promise<void>;
}

export async function acquireLock(dir: string, what: string): Promise<Lock> {
  const file = path.join(dir, 'lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o644);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return { release: () => unlink(file).catch(() => undefined) };
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
      throw new AgentError('E_LOCKED', `${what} is in use by another kairos-spegel run (pid ${pid})`, { hint: 'wait for it to finish; runs on the same store are serialized' });
    }
    // Stale: move it aside atomically so two takers cannot both remove a fresh lock.
    await rename(file, `${file}.stale-${process.pid}`).then(
      () => unlink(`${file}.stale-${process.pid}`),
      () => undefined,
    );
  }
  throw new AgentError('E_LOCKED', `cannot take the lock ${file}`);
}

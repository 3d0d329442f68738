/**
 * Bytes taken from mirrors (peers) and from the upstream registry, kept in the store
 * (`stats.json`) in total and per image. Counts only go up: each run adds what it
 * transferred, and saves periodically so that a killed run keeps most of its count.
 */
import { readOwnJson } from '../fs/read-json.ts';
import path from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import type { SourceRole } from '../registry/source.ts';

export type ByRole = Record<SourceRole, number>;

interface StatsFile {
  total: ByRole;
  /** Keyed by the image's reference as stored (ref.name). */
  images: Record<string, ByRole>;
}

const zero = (): ByRole => ({ mirror: 0, upstream: 0 });

export class TransferStats {
  private readonly file: string;
  private data: StatsFile;
  private dirty = false;

  private constructor(file: string, data: StatsFile) {
    this.file = file;
    this.data = data;
  }

  static async load(storeDir: string): Promise<TransferStats> {
    const file = path.join(storeDir, 'stats.json');
    // Missing is normal; damaged is survivable: the counters restart.
    const parsed = ((await readOwnJson(file)) ?? {}) as Partial<StatsFile>;
    return new TransferStats(file, { total: { ...zero(), ...parsed.total }, images: parsed.images ?? {} });
  }

  add(image: string, role: SourceRole, bytes: number): void {
    if (bytes <= 0) return;
    this.data.total[role] += bytes;
    (this.data.images[image] ??= zero())[role] += bytes;
    this.dirty = true;
  }

  image(image: string): ByRole {
    return { ...zero(), ...this.data.images[image] };
  }

  get total(): ByRole {
    return { ...this.data.total };
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    await writeFileAtomic(this.file, `${JSON.stringify(this.data, null, 2)}\n`);
  }
}

/**
 * The bed of the store tests: a real registry on loopback, a recording fault proxy in front
 * of it as the node's mirror, and fresh node roots (PullBed) whose hosts.toml names that
 * mirror. Call it inside a `describe`: it starts and stops both with the suite; the suite's
 * own beforeAll (registered after) pushes its images.
 */
import { afterAll, beforeAll } from 'vitest';
import { startProxy, type Proxy } from './fault-proxy.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from './loopback-registry.ts';
import { PullBed } from './pull-bed.ts';

export interface MirroredRegistry {
  readonly registry: LoopbackRegistry;
  readonly mirror: Proxy;
  /** A fresh node root under `dir`. */
  bed(): PullBed;
}

export function mirroredRegistry(dir: string): MirroredRegistry {
  let registry: LoopbackRegistry | undefined;
  let mirror: Proxy | undefined;
  let beds = 0;
  beforeAll(async () => {
    registry = await startLoopbackRegistry(dir, 'reg');
    mirror = await startProxy(registry.url);
  });
  afterAll(async () => {
    await mirror?.close();
    await registry?.stop();
  });
  return {
    get registry() {
      return registry!;
    },
    get mirror() {
      return mirror!;
    },
    bed() {
      const b = new PullBed(`${dir}/bed${++beds}`);
      b.hosts(registry!.host, [mirror!.url]);
      return b;
    },
  };
}

/**
 * One image in a real registry, reached through two recording proxies: `mirror` plays the
 * node's Spegel and `upstream` the registry itself, so a test can set faults on either and
 * see which source served what.
 */
import path from 'node:path';
import { startProxy, type Proxy } from './fault-proxy.ts';
import { buildImage, pushImage } from './image.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from './loopback-registry.ts';

export interface ProxiedImage {
  registry: LoopbackRegistry;
  /** host/repo:tag at the registry itself */
  image: string;
  mirror: Proxy;
  upstream: Proxy;
  stop(): Promise<void>;
}

export async function startProxiedImage(dir: string, repoTag: string, layers: number, layerBytes: number): Promise<ProxiedImage> {
  const registry = await startLoopbackRegistry(dir, 'upstream');
  const proxies: Proxy[] = [];
  const stop = async () => {
    for (const p of proxies) await p.close();
    await registry.stop();
  };
  try {
    const image = `${registry.host}/${repoTag}`;
    await pushImage(undefined, await buildImage(path.join(dir, 'img'), layers, layerBytes), image);
    const mirror = await startProxy(registry.url);
    proxies.push(mirror);
    const upstream = await startProxy(registry.url);
    proxies.push(upstream);
    return { registry, image, mirror, upstream, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Kairos-like upgrade images written as OCI layouts: a first layer with the files the
 * upgrade path looks at (/etc/kairos-release, a merged /usr, kairos-agent), then layers
 * of incompressible payload, so an image's compressed size is what a test asks for.
 */
import { randomBytes } from 'node:crypto';
import { rawTar, writeImage, type RawEntry } from './oci-layout.ts';

export function kairosRelease(version: string): string {
  return `KAIROS_ID="kairos"\nKAIROS_NAME="kairos-core-ubuntu-24.04"\nKAIROS_VERSION="${version}"\nKAIROS_FLAVOR="ubuntu"\n`;
}

/**
 * Writes the image as `<dir>:os`; `layerBytes[i]` random bytes go in layer i (the first
 * also holds the OS files). Returns the layout reference for skopeo.
 */
export function writeKairosImage(dir: string, version: string, layerBytes: number[]): string {
  const os: RawEntry[] = [
    { name: 'etc/', type: 'dir' },
    { name: 'etc/kairos-release', data: kairosRelease(version) },
    { name: 'usr/', type: 'dir' },
    { name: 'usr/bin/', type: 'dir' },
    { name: 'bin', type: 'symlink', linkname: 'usr/bin' },
    { name: 'usr/bin/kairos-agent', data: '#!/bin/sh\n', mode: 0o755 },
    { name: 'usr/lib/', type: 'dir' },
  ];
  const layers = layerBytes.map((bytes, i) => ({
    tar: rawTar([...(i === 0 ? os : []), { name: `usr/lib/payload-${i}.bin`, data: randomBytes(bytes) }]),
    compression: 'zstd' as const,
  }));
  writeImage(dir, 'os', layers);
  return `${dir}:os`;
}

/**
 * Image references as Docker and containerd read them: `ubuntu` is
 * `docker.io/library/ubuntu:latest`; a first component with a dot, a colon or
 * `localhost` is a registry; `@sha256:<64 hex>` pins a digest.
 */
import { isDigest, type Digest } from './digest.ts';
import { UsageError } from '../errors.ts';

export interface ImageRef {
  /** Registry host as containerd names it: docker.io, ghcr.io, 127.0.0.1:5000. */
  registry: string;
  /** Repository path within the registry: library/ubuntu. */
  repository: string;
  tag?: string;
  digest?: Digest;
}

const TAG = /^[\w][\w.-]{0,127}$/;
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/**
 * A registry: a DNS name (labels of letters, digits and inner hyphens), an IPv4 address or a
 * bracketed IPv6 one, and an optional port; as distribution/reference's domain rule.
 */
const LABEL = '(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]{0,61}[A-Za-z0-9])';
const REGISTRY = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?$`);
/** distribution/reference's NameTotalLengthMax: registry and repository together. */
const MAX_NAME = 255;

export function parseImageRef(text: string): ImageRef {
  const bad = (why: string) => new UsageError(`invalid image reference "${text}": ${why}`, 'write it as [registry/]repository[:tag][@sha256:digest], e.g. quay.io/kairos/ubuntu:24.04');
  let rest = text.trim();
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const text = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(text)) throw bad('the digest must be sha256: followed by 64 lowercase hex digits');
    digest = text;
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`"${tag}" is not a valid tag`);
  }
  const parts = rest.split('/');
  let registry = 'docker.io';
  if (parts.length > 1 && (parts[0]!.includes('.') || parts[0]!.includes(':') || parts[0] === 'localhost')) registry = parts.shift()!;
  if (rest.length > MAX_NAME) throw bad(`the name is ${rest.length} characters long; at most ${MAX_NAME}`);
  if (!REGISTRY.test(registry) || Number(/:(\d+)$/.exec(registry)?.[1] ?? 1) > 65535) throw bad(`"${registry}" is not a registry host[:port]`);
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = 'docker.io';
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p))) throw bad('repository path components must be lowercase letters, digits and separators');
  if (registry === 'docker.io' && parts.length === 1) parts.unshift('library');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository: parts.join('/'), ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** Canonical text: registry/repository[:tag][@digest]. */
export function formatImageRef(r: ImageRef): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/**
 * A throwaway CA, a server certificate for an IP and a client certificate, made in
 * memory with node:crypto (P-256, ECDSA-SHA256): unit tests need no openssl binary
 * (testbed/certs.ts shells out to it). Node cannot issue certificates, so this writes
 * the few DER structures of RFC 5280 it takes.
 */
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIPv4 } from 'node:net';

export interface MemoryCerts {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
};
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const oid = (dotted: string): Buffer => {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * a + b];
  for (const v of rest) {
    const groups = [v & 0x7f];
    for (let x = v >> 7; x > 0; x >>= 7) groups.unshift((x & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return tlv(0x06, Buffer.from(bytes));
};
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s));
const time = (d: Date) => tlv(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-:T]/g, '')}Z`));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer) => tlv(0x03, Buffer.from([0]), b);
const name = (cn: string) => seq(tlv(0x31, seq(oid('2.5.4.3'), utf8(cn))));
const extension = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

interface Issued {
  pem: string;
  key: KeyObject;
}

function issue(subject: string, issuer: { cn: string; key: KeyObject } | undefined, extensions: Buffer[]): Issued {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const now = Date.now();
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // v3
    tlv(0x02, Buffer.concat([Buffer.from([0x01]), randomBytes(8)])),
    ECDSA_SHA256,
    name(issuer?.cn ?? subject),
    seq(time(new Date(now - 3600_000)), time(new Date(now + 2 * 86400_000))),
    name(subject),
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, issuer?.key ?? privateKey);
  const der = seq(tbs, ECDSA_SHA256, bits(signature));
  return { pem: `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`, key: privateKey };
}

const pemKey = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;

export function makeMemoryCerts(serverIp: string): MemoryCerts {
  if (!isIPv4(serverIp)) throw new Error(`makeMemoryCerts: ${serverIp} is not an IPv4 address`);
  const ca = issue('test-ca', undefined, [extension('2.5.29.19', true, seq(bool(true)))]);
  const issuer = { cn: 'test-ca', key: ca.key };
  const server = issue(serverIp, issuer, [extension('2.5.29.17', false, seq(tlv(0x87, Buffer.from(serverIp.split('.').map(Number))))), extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1')))]);
  const client = issue('system:node', issuer, [extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.2')))]);
  return { ca: ca.pem, serverCert: server.pem, serverKey: pemKey(server.key), clientCert: client.pem, clientKey: pemKey(client.key) };
}

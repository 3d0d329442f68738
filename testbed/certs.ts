/** A throwaway CA with a server certificate (for an IP) and a client certificate, made with openssl. */
import path from 'node:path';
import { must } from './proc.ts';

export interface TestCerts {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export async function makeCerts(dir: string, serverIp: string): Promise<TestCerts> {
  const f = (n: string) => path.join(dir, n);
  const ossl = (args: string[]) => must('openssl', args);
  await ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=test-ca']);
  for (const [name, cn, ext] of [
    ['server', serverIp, `subjectAltName=IP:${serverIp}\nextendedKeyUsage=serverAuth`],
    ['client', 'system:node', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    await ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`]);
    await must('sh', ['-c', `printf '${ext}\\n' > ${f(`${name}.ext`)}`]);
    await ossl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f(`${name}.ext`)]);
  }
  return { ca: f('ca.pem'), serverCert: f('server.pem'), serverKey: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key') };
}

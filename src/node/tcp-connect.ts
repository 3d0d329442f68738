/** A TCP connect within a time limit: whether something listens there, as containerd's dial would find it. */
import { connect } from 'node:net';
import { errorMessage } from '../errors.ts';

export interface TcpResult {
  ok: boolean;
  ms?: number;
  error?: string;
}

export function tcpConnect(host: string, port: number, timeoutMs: number): Promise<TcpResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (r: TcpResult) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, error: `no connection within ${timeoutMs}ms` }), timeoutMs);
    sock.once('connect', () => done({ ok: true, ms: Math.round((performance.now() - started) * 10) / 10 }));
    sock.once('error', (err) => done({ ok: false, error: errorMessage(err) }));
  });
}

/**
 * The wire for small bodies (manifests, tokens, error bodies, probes): undici, whose
 * pooled connections save a TLS handshake per manifest. Its errors become the
 * RegistryErrors of the wire contract (wire.ts).
 */
import { errors, request, type Dispatcher } from 'undici';
import { errorMessage } from '../../errors.ts';
import { RegistryError } from '../errors.ts';
import type { BodySink, ResponseHead, WireRequest } from './wire.ts';

function wireError(err: unknown, req: WireRequest): unknown {
  if (req.signal?.aborted) return req.signal.reason ?? err;
  if (err instanceof RegistryError) return err;
  if (err instanceof errors.HTTPParserError || err instanceof errors.ResponseContentLengthMismatchError)
    return new RegistryError('E_HTTP', `${req.what}: malformed HTTP response: ${errorMessage(err)}`, undefined, { cause: err });
  return new RegistryError('E_NETWORK', `${req.what}: ${errorMessage(err)}`, undefined, { cause: err });
}

function flatHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

export async function undiciExchange(dispatcher: Dispatcher, url: URL, req: WireRequest, onHead: (head: ResponseHead) => BodySink | undefined): Promise<ResponseHead> {
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, { dispatcher, method: req.method, headers: req.headers, ...(req.signal ? { signal: req.signal } : {}) });
  } catch (err) {
    throw wireError(err, req);
  }
  const head: ResponseHead = { status: res.statusCode, headers: flatHeaders(res.headers), url };
  let done = false;
  try {
    const sink = onHead(head);
    if (!sink) {
      // Drains a short body to keep the connection; a long one closes it.
      await res.body.dump().catch(() => undefined);
      done = true;
      return head;
    }
    const chunks = res.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (err) {
        throw wireError(err, req);
      }
      if (next.done) break;
      const wait = sink.data(next.value);
      if (wait) await wait;
    }
    done = true;
    return head;
  } finally {
    if (!done) {
      // Our own abort: its error event is not news (and unheard, it would be an uncaught exception).
      res.body.on('error', () => undefined);
      res.body.destroy();
    }
  }
}

/**
 * The contract of the two wires a request can go over: undici (undici-wire.ts: pooled
 * connections, for small bodies) and the raw HTTP/1.1 client (raw-wire.ts: reused read
 * buffers, for blobs). One exchange each, no redirects: transport.ts does the rest.
 */

export interface ResponseHead {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  url: URL;
}

/**
 * Receives a body. `data` may get a view into a reused buffer, valid until it returns,
 * or, when it returns a promise, until that settles: reading pauses meanwhile.
 */
export interface BodySink {
  data(chunk: Buffer): void | Promise<void>;
}

export interface WireRequest {
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  signal?: AbortSignal;
  /** Starts the messages of the wire's own errors: "http://mirror:30020: blob sha256:...". */
  what: string;
}

/**
 * One exchange. `onHead` returns the sink for the body, or undefined to skip the body;
 * the promise settles once the body is delivered. The wire's own failures are
 * RegistryErrors (E_NETWORK; E_HTTP for what is not HTTP); what onHead or the sink throws
 * comes out as it is; an abort rejects with the signal's reason.
 */
export type Wire = (url: URL, req: WireRequest, onHead: (head: ResponseHead) => BodySink | undefined) => Promise<ResponseHead>;

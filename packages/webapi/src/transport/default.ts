import { fetchTransport, type HttpTransport, type TransportOptions } from '../internal/http.ts'

/** Everywhere but Node: the injected `fetch`, else the global one (looked up per call). */
export function createTransport(options: TransportOptions): HttpTransport {
  return fetchTransport(options.fetch)
}

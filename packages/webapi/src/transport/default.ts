import { fetchTransport, type HttpTransport, type TransportOptions } from '../internal/http.ts'

interface RuntimeGlobals {
  Bun?: unknown
  Deno?: { createHttpClient?: (options: { caCerts: string[] }) => unknown }
}

/**
 * Everywhere but Node (Bun, Deno, workerd, browsers): the injected `fetch`, else the global one (looked up per
 * call). `ca` is honoured where the runtime's fetch has a way to take it.
 */
export function createTransport(options: TransportOptions): HttpTransport {
  if (options.fetch || options.ca === undefined) return fetchTransport(options.fetch)
  const ca = typeof options.ca === 'string' ? [options.ca] : [...options.ca]
  const runtime = globalThis as RuntimeGlobals
  // Deno: fetch's non-standard `client` init (https://docs.deno.com/api/deno/~/Deno.createHttpClient).
  if (runtime.Deno?.createHttpClient)
    return fetchTransport(undefined, { client: runtime.Deno.createHttpClient({ caCerts: ca }) })
  // Bun: fetch's non-standard `tls` init (https://bun.sh/docs/api/fetch#tls).
  if (runtime.Bun !== undefined) return fetchTransport(undefined, { tls: { ca } })
  return fetchTransport(undefined)
}

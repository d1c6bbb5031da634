import type { DataverseClientOptions } from '../types.ts'

/** What the client hands a transport: one HTTP exchange, body fully read by `text()`. */
export interface HttpRequest {
  method: string
  /** Absolute URL. */
  url: string
  /** `https://host[:port]` of `url`. */
  origin: string
  /** Path and query of `url`. */
  path: string
  headers: Record<string, string>
  body: string | undefined
  /** Only present when the caller can cancel; the client enforces timeouts itself. */
  signal: AbortSignal | undefined
}

export interface HttpResponse {
  status: number
  /** Lower-case header lookup. */
  header(name: string): string | undefined
  text(): Promise<string>
  /** Drops the body without reading it (frees the connection). */
  discard(): Promise<void>
}

export type HttpTransport = (request: HttpRequest) => Promise<HttpResponse>

/** Options for the built-in transports: the client's own. */
export type TransportOptions = Pick<DataverseClientOptions, 'fetch' | 'ca' | 'dispatcher' | 'connections'>

export function fetchTransport(
  fetchImpl: typeof fetch | undefined,
  runtimeInit: Record<string, unknown> = {},
): HttpTransport {
  return async (request) => {
    const f = fetchImpl ?? globalThis.fetch
    const response = await f(request.url, {
      ...runtimeInit,
      method: request.method,
      headers: request.headers,
      body: request.body ?? null,
      ...(request.signal ? { signal: request.signal } : {}),
    })
    return {
      status: response.status,
      header: (name) => response.headers.get(name) ?? undefined,
      text: () => response.text(),
      discard: async () => {
        await response.body?.cancel().catch(() => undefined)
      },
    }
  }
}

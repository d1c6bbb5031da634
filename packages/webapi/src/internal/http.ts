import type { DataverseClientOptions } from '../types.ts'

/** What the client hands a transport: one HTTP exchange, body fully read by `text()` (or `bytes()` for a file). */
export interface HttpRequest {
  method: string
  /** Absolute URL. */
  url: string
  /** `https://host[:port]` of `url`. */
  origin: string
  /** Path and query of `url`. */
  path: string
  headers: Record<string, string>
  /** JSON or batch text, or the raw bytes of a file column upload. */
  body: string | Uint8Array | undefined
  /** Only present when the caller can cancel; the client enforces timeouts itself. */
  signal: AbortSignal | undefined
}

export interface HttpResponse {
  status: number
  /** Lower-case header lookup. */
  header(name: string): string | undefined
  text(): Promise<string>
  /** The body as bytes (a file column download), untouched by any text decoding. */
  bytes(): Promise<Uint8Array>
  /** Drops the body without reading it (frees the connection). */
  discard(): Promise<void>
}

export type HttpTransport = (request: HttpRequest) => Promise<HttpResponse>

/** Options for the built-in transports: the client's own. */
export type TransportOptions = Pick<DataverseClientOptions, 'fetch' | 'ca' | 'dispatcher' | 'connections'>

export function fetchTransport(
  fetchImpl: typeof fetch | undefined,
  runtimeInit?: Record<string, unknown>,
): HttpTransport {
  return async (request) => {
    const f = fetchImpl ?? globalThis.fetch
    const body = (request.body ?? null) as BodyInit | null
    const init: RequestInit = runtimeInit
      ? { ...runtimeInit, method: request.method, headers: request.headers, body }
      : { method: request.method, headers: request.headers, body }
    // Only a caller's signal is passed on: a signal per request is a measurable cost for fetch.
    if (request.signal) init.signal = request.signal
    return new FetchResponse(await f(request.url, init))
  }
}

/** A fetch Response as the client reads it; `header` is bound, as callers pass it around on its own. */
class FetchResponse implements HttpResponse {
  readonly status: number
  readonly header: (name: string) => string | undefined
  constructor(private readonly response: Response) {
    this.status = response.status
    this.header = (name) => response.headers.get(name) ?? undefined
  }
  text(): Promise<string> {
    return this.response.text()
  }
  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await this.response.arrayBuffer())
  }
  async discard(): Promise<void> {
    await this.response.body?.cancel().catch(() => undefined)
  }
}

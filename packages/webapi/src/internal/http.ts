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

/** Options for the built-in transports. */
export interface TransportOptions {
  /** A `fetch` to use instead of the built-in transport (always wins). */
  fetch?: typeof fetch | undefined
  /**
   * Extra trusted CA certificates (PEM), e.g. the emulator's CA: for the undici transport on Node, through
   * fetch's `tls.ca` on Bun and `Deno.createHttpClient({ caCerts })` on Deno. Workers and browsers trust only
   * their platform's store, so it is ignored there. Ignored when `fetch` or `dispatcher` is given.
   */
  ca?: string | readonly string[] | undefined
  /** Node only: an undici `Dispatcher` (Agent, Pool, ProxyAgent, MockAgent) to send through. */
  dispatcher?: unknown
  /** Node only: maximum sockets per origin for the built-in undici Agent. Default 64. */
  connections?: number | undefined
}

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

import { DataverseError, errorFromResponse, parseRetryAfter } from '../errors.ts'
import type { ClientClock, GetToken, Logger, RetryOptions } from '../types.ts'
import type { Deadlines } from './deadlines.ts'
import { abortError } from './governor.ts'
import type { HttpTransport } from './http.ts'
import { mergePrefer } from './prefer.ts'
import type { Gate } from './shared-governor.ts'
import { Attempt, recordRetry, recordWait, type Telemetry } from './telemetry.ts'

export type ResolvedRetry = Required<RetryOptions> & { enabled: boolean }

export interface PipelineConfig {
  baseUrl: string
  origin: string
  resource: string
  getToken: GetToken
  transport: HttpTransport
  governor: Gate
  retry: ResolvedRetry
  timeoutMs: number
  logger: Logger | undefined
  baseHeaders: Record<string, string>
  telemetry: Telemetry | undefined
  clock: ClientClock
  /** The per-attempt timeouts of this client and the clients derived from it. */
  deadlines: Deadlines
  /** Told of each successful response's `x-ms-session-token` (elastic tables' writes). */
  onSessionToken?: ((token: string, spec: SendSpec) => void) | undefined
}

export interface SendSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  /** Relative to the Web API base (`accounts(…)`), or an absolute URL on the same origin (nextLink). */
  path: string
  query?: string
  /**
   * Optional parameters that travel in the URL (`tag=…`, `partitionId=…`), already encoded, appended after `query`
   * (Microsoft Learn: Use optional parameters).
   */
  parameters?: string | undefined
  headers?: Record<string, string>
  /** JSON or batch text, or the raw bytes of a file column upload. */
  body?: string | Uint8Array | undefined
  /** Read a successful (2xx) response's body as bytes into `SendResult.bytes` (a file download), not as text. */
  binary?: boolean | undefined
  /** Safe to repeat after a 5xx or network failure. */
  idempotent: boolean
  signal?: AbortSignal | undefined
  timeoutMs?: number | undefined
  retry?: boolean | undefined
  /** Return (instead of throwing) a final error response this accepts, e.g. a `$batch` 400 carrying parts. */
  acceptError?: ((status: number, header: (name: string) => string | undefined) => boolean) | undefined
}

export interface SendResult {
  status: number
  header(name: string): string | undefined
  text: string
  /** With `binary`: the body of a 2xx response. */
  bytes?: Uint8Array | undefined
}

export function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

async function tokenFor(config: PipelineConfig, forceRefresh: boolean, spec: SendSpec, path: string) {
  let value: Awaited<ReturnType<GetToken>>
  try {
    value = await config.getToken(config.resource, { forceRefresh, signal: spec.signal })
  } catch (cause) {
    throw new DataverseError('TOKEN', `getToken failed for ${config.resource}; see cause.`, {
      method: spec.method,
      path,
      cause,
    })
  }
  const token = typeof value === 'string' ? value : 'accessToken' in value ? value.accessToken : value.token
  if (typeof token !== 'string' || token === '') {
    throw new DataverseError('TOKEN', `getToken returned no token for ${config.resource}.`, {
      method: spec.method,
      path,
    })
  }
  return token
}

// Microsoft Learn, Compose HTTP requests and handle errors: "All HTTP requests should include at least" Accept,
// OData-MaxVersion, OData-Version and `If-None-Match: null` (the last so that no cached collection-valued expansion
// is served; "This header should be used in all requests with a value of null"). A call's own If-None-Match (a
// conditional read, or `*` to prevent an update in an upsert) replaces it.
const NO_CACHED_EXPANSIONS = { 'if-none-match': 'null' } as const

/** Per-client headers, `If-None-Match: null`, the call's own headers, then the token (which none replaces). */
function requestHeaders(config: PipelineConfig, spec: SendSpec, token: string): Record<string, string> {
  // One spread of a prepared object copies fastest, and the token's slot is already in it (adding a property to
  // the copy would grow it): every request builds these, so this is the hot path.
  const headers: Record<string, string> = { ...templateFor(config.baseHeaders) }
  const own = spec.headers
  for (const name in own) headers[name] = (own as Record<string, string>)[name] as string
  headers.authorization = `Bearer ${token}`
  return headers
}

const templates = new WeakMap<Record<string, string>, Record<string, string>>()

function templateFor(baseHeaders: Record<string, string>): Record<string, string> {
  let template = templates.get(baseHeaders)
  // Stryker disable next-line ConditionalExpression: building the template again gives the same headers, only slower
  if (!template) {
    // Stryker disable next-line StringLiteral: a placeholder, always replaced by the token
    const slot = ''
    template = { ...baseHeaders, ...NO_CACHED_EXPANSIONS, authorization: slot }
    templates.set(baseHeaders, template)
  }
  return template
}

function requestLineSafe(link: string): string | undefined {
  try {
    return link.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c))
    // Stryker disable next-line BlockStatement: a function that returns nothing returns undefined
  } catch {
    return undefined // an unpaired surrogate: let URL serialise it
  }
}

/** An argument the transport refused before sending (e.g. an invalid request path on Node): never worth a retry. */
function isLocalArgumentError(cause: unknown): boolean {
  const code = (cause as { code?: unknown } | null)?.code
  return (
    code === 'UND_ERR_INVALID_ARG' || (cause instanceof DataverseError && cause.code === 'INVALID_ARGUMENT')
  )
}

const ABSOLUTE_URL = /^https?:\/\//i

export function resolveUrl(config: PipelineConfig, spec: SendSpec): { url: string; path: string } {
  // Most paths are relative: only one starting with an h is worth the regular expression.
  // Stryker disable next-line ConditionalExpression: the regular expression decides alone; the first letter only skips it
  if ((spec.path.charCodeAt(0) | 32) === 104 && ABSOLUTE_URL.test(spec.path)) {
    const url = new URL(spec.path)
    // Never send the org's token anywhere else (a forged nextLink must not exfiltrate it).
    if (url.origin !== config.origin) {
      throw new DataverseError(
        'INVALID_RESPONSE',
        `Refusing to follow a link to another origin (${url.origin}).`,
        {
          method: spec.method,
        },
      )
    }
    const base = new URL(config.baseUrl).pathname
    // Follow the link verbatim (Microsoft Learn: Page results using OData): `URL.href` would re-encode it (quotes
    // in the query become %27). Only characters a request line cannot carry are percent-encoded.
    const verbatim = spec.path.startsWith(`${config.origin}/`) ? requestLineSafe(spec.path) : undefined
    return {
      url: withParameters(verbatim ?? url.href, spec.parameters),
      path: url.pathname.startsWith(base) ? url.pathname.slice(base.length) : url.pathname,
    }
  }
  return {
    url: withParameters(config.baseUrl + spec.path + (spec.query ?? ''), spec.parameters),
    path: spec.path,
  }
}

/** A Prefer set for the whole client (its `headers` option) adds to the call's own instead of being replaced by it. */
function withClientPrefer(config: PipelineConfig, spec: SendSpec): SendSpec {
  const clientPrefer = config.baseHeaders.prefer
  const own = spec.headers?.prefer
  if (clientPrefer === undefined || own === undefined) return spec
  return { ...spec, headers: { ...spec.headers, prefer: mergePrefer(own, clientPrefer) } }
}

function withParameters(url: string, parameters: string | undefined): string {
  return parameters ? `${url}${url.includes('?') ? '&' : '?'}${parameters}` : url
}

/**
 * Sends one operation with the client's policies: throttle gate and concurrency limit, token (refreshed
 * once on 401), per-attempt timeout, retries (429 for everything; 5xx/network only when idempotent).
 */
export async function send(config: PipelineConfig, given: SendSpec): Promise<SendResult> {
  const spec = withClientPrefer(config, given)
  const { url, path } = resolveUrl(config, spec)
  const retry = config.retry
  const retrying = retry.enabled && spec.retry !== false
  // The budget starts when the first attempt is sent: time queued behind the limiter is the caller's choice.
  let deadline = Number.POSITIVE_INFINITY
  const timeoutMs = spec.timeoutMs ?? config.timeoutMs
  const governor = config.governor
  const signal = spec.signal
  const telemetry = config.telemetry
  let forceRefresh = false
  let refreshed = false
  let attempt = 0
  let backoffStep = 0

  const fail = (error: DataverseError): never => {
    throw error
  }

  for (;;) {
    attempt++
    if (signal?.aborted) fail(abortError(signal, spec.method, path))
    const token = await tokenFor(config, forceRefresh, spec, path)
    forceRefresh = false
    const waiting = governor.acquire(signal, attempt > 1)
    if (waiting) {
      const waitStart = telemetry ? performance.now() : 0
      try {
        await waiting
      } catch {
        fail(abortError(signal as AbortSignal, spec.method, path))
      }
      if (telemetry) recordWait(telemetry, waitStart)
    }
    if (attempt === 1) deadline = config.clock.now() + retry.budgetMs
    const headers = requestHeaders(config, spec, token)
    // An AbortSignal is only handed to the transport when the caller gave one: with fetch, a signal per request
    // is a measurable cost. The timeout races the exchange instead; a timed-out exchange without a signal is left
    // to finish in the background and its body is discarded.
    const controller = signal ? new AbortController() : undefined
    // Stryker disable next-line OptionalChaining: a controller exists only with a signal
    const onAbort = controller ? () => controller.abort(signal?.reason) : undefined
    // Stryker disable next-line ConditionalExpression,OptionalChaining,ObjectLiteral,BooleanLiteral: onAbort exists only with a signal, which aborts once; the listener is removed below
    if (onAbort) signal?.addEventListener('abort', onAbort, { once: true })
    let timedOut = false
    let attemptDeadline: number | undefined
    let status: number
    let header: (name: string) => string | undefined
    let text: string
    let bytes: Uint8Array | undefined
    const recorder = telemetry ? new Attempt(telemetry, spec.method, url, attempt - 1, headers) : undefined
    try {
      const exchange = exchangeOnce(config, spec.binary === true, {
        method: spec.method,
        url,
        origin: config.origin,
        path: url.slice(config.origin.length),
        headers,
        body: spec.body,
        signal: controller?.signal,
      })
      // One promise settled by whichever comes first, the exchange or its deadline (cheaper than Promise.race; the
      // deadlines of all attempts share one timer).
      ;({ status, header, text, bytes } = await new Promise<Exchange>((resolve, reject) => {
        attemptDeadline = config.deadlines.start(timeoutMs, () => {
          timedOut = true
          controller?.abort()
          reject(new Error('timeout'))
        })
        exchange.then(resolve, reject)
      }))
    } catch (cause) {
      governor.release()
      recorder?.failure(signal?.aborted ? 'aborted' : timedOut ? 'timeout' : 'network')
      if (signal?.aborted) fail(abortError(signal, spec.method, path))
      if (!timedOut && isLocalArgumentError(cause)) {
        throw new DataverseError(
          'INVALID_ARGUMENT',
          `${spec.method} ${path} was not sent: the HTTP client refused the request (${(cause as Error).message}).`,
          { method: spec.method, path, attempts: attempt, cause },
        )
      }
      const error = timedOut
        ? new DataverseError('TIMEOUT', `${spec.method} ${path} timed out after ${timeoutMs} ms.`, {
            method: spec.method,
            path,
            attempts: attempt,
            cause,
          })
        : new DataverseError(
            'NETWORK',
            `${spec.method} ${path} failed: the connection failed or was dropped.`,
            {
              method: spec.method,
              path,
              attempts: attempt,
              cause,
            },
          )
      const delay = backoff(retry, backoffStep++)
      if (
        retrying &&
        spec.idempotent &&
        attempt < retry.maxAttempts &&
        config.clock.now() + delay < deadline
      ) {
        config.logger?.warn?.('dataverse: retrying after a transport failure', {
          method: spec.method,
          path,
          attempt,
          delayMs: delay,
          reason: error.code,
        })
        if (telemetry) recordRetry(telemetry, timedOut ? 'timeout' : 'network')
        await sleepOrAbort(config.clock, delay, signal, spec.method, path)
        continue
      }
      throw error
    } finally {
      if (attemptDeadline !== undefined) config.deadlines.stop(attemptDeadline)
      // Stryker disable next-line ConditionalExpression,OptionalChaining: onAbort exists only with a signal
      if (onAbort) signal?.removeEventListener('abort', onAbort)
    }

    if (status === 429) {
      const retryAfterMs = parseRetryAfter(header('retry-after')) ?? backoff(retry, backoffStep++) + 1000
      recorder?.response(status, header, retryAfterMs)
      // 0x80072322 is the request-count limit: waiting is the cure. Concurrency (0x80072326), execution time
      // (0x80072321) or an unknown throttle also need fewer requests in flight. (Microsoft Learn: api-limits.)
      governor.onThrottle(retryAfterMs, !/0x80072322/i.test(text))
      governor.release()
      if (retrying && attempt < retry.maxAttempts && config.clock.now() + retryAfterMs < deadline) {
        config.logger?.warn?.('dataverse: throttled, pausing the client for this org', {
          method: spec.method,
          path,
          attempt,
          retryAfterMs,
          requestId: header('x-ms-service-request-id'),
        })
        if (telemetry) recordRetry(telemetry, 'throttled')
        continue // the governor holds every request of this org until Retry-After elapses
      }
      throw errorFromResponse(status, text, header, { method: spec.method, path, attempts: attempt })
    }

    recorder?.response(status, header)
    // Only the headers the governor will use are read: each lookup is a measurable share of a fast request.
    const dop = governor.wantsDopHint ? header('x-ms-dop-hint') : undefined
    const remaining = governor.wantsRemaining
      ? header('x-ms-ratelimit-burst-remaining-xrm-requests')
      : undefined
    governor.onResponse(
      // Stryker disable next-line ConditionalExpression: parseInt(undefined) is NaN, which || turns into undefined too
      dop === undefined ? undefined : Number.parseInt(dop, 10) || undefined,
      // Stryker disable next-line ConditionalExpression: toCount(undefined) is undefined too
      remaining === undefined ? undefined : toCount(remaining),
    )
    governor.release()

    if (status < 400) {
      config.logger?.debug?.('dataverse: response', { method: spec.method, path, status, attempt })
      const sessionToken = header('x-ms-session-token')
      if (sessionToken) config.onSessionToken?.(sessionToken, spec)
      return bytes ? { status, header, text, bytes } : { status, header, text }
    }
    if (status === 401 && !refreshed) {
      refreshed = true
      forceRefresh = true
      config.logger?.debug?.('dataverse: 401, refreshing the token once', { method: spec.method, path })
      if (telemetry) recordRetry(telemetry, 'unauthorized')
      continue
    }
    if ((status === 502 || status === 503 || status === 504) && retrying && spec.idempotent) {
      const delay = parseRetryAfter(header('retry-after')) ?? backoff(retry, backoffStep++)
      if (attempt < retry.maxAttempts && config.clock.now() + delay < deadline) {
        config.logger?.warn?.('dataverse: retrying after a server error', {
          method: spec.method,
          path,
          status,
          attempt,
          delayMs: delay,
        })
        if (telemetry) recordRetry(telemetry, 'server_error')
        await sleepOrAbort(config.clock, delay, signal, spec.method, path)
        continue
      }
    }
    if (spec.acceptError?.(status, header)) return { status, header, text }
    throw errorFromResponse(status, text, header, { method: spec.method, path, attempts: attempt })
  }
}

interface Exchange {
  status: number
  header: (name: string) => string | undefined
  text: string
  bytes?: Uint8Array | undefined
}

async function exchangeOnce(
  config: PipelineConfig,
  binary: boolean,
  request: Parameters<HttpTransport>[0],
): Promise<Exchange> {
  const response = await config.transport(request)
  if (response.status === 204 || response.status === 304) {
    await response.discard()
    return { status: response.status, header: response.header, text: '' }
  }
  // Only a success carries the file: an error is Dataverse's JSON error body, read as text like any other.
  if (binary && response.status >= 200 && response.status < 300)
    return { status: response.status, header: response.header, text: '', bytes: await response.bytes() }
  return { status: response.status, header: response.header, text: await response.text() }
}

async function sleepOrAbort(
  clock: ClientClock,
  ms: number,
  signal: AbortSignal | undefined,
  method: string,
  path: string,
) {
  try {
    await clock.sleep(ms, signal)
    // Stryker disable next-line BlockStatement: a sleep ends early only when the signal aborted, which the next attempt refuses first
  } catch {
    throw abortError(signal as AbortSignal, method, path)
  }
}

/** Full jitter: uniform in [0, min(max, base * 2^step)]. */
function backoff(retry: ResolvedRetry, step: number): number {
  return Math.floor(Math.random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** step))
}

function toCount(value: string): number | undefined {
  const n = Number.parseInt(value, 10)
  return Number.isFinite(n) && n >= 0 ? n : undefined
}

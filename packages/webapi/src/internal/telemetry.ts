import type { MeterLike, SpanLike, TelemetryAttributes, TelemetryOptions, TracerLike } from '../telemetry.ts'

// Numeric values of @opentelemetry/api's SpanKind.CLIENT and SpanStatusCode.ERROR (stable since API 1.0).
const SPAN_KIND_CLIENT = 2
const STATUS_ERROR = 2

// Bucket boundaries the HTTP metrics semantic conventions advise for http.client.request.duration.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

// Service-protection headers Dataverse returns on every response (Microsoft Learn: "Service protection API
// limits", how to know how close you are to the limits).
const RATE_LIMIT_HEADERS = [
  ['x-ms-ratelimit-burst-remaining-xrm-requests', 'dataverse.ratelimit.burst_remaining_requests'],
  ['x-ms-ratelimit-time-remaining-xrm-requests', 'dataverse.ratelimit.time_remaining_ms'],
] as const

type RetryReason = 'throttled' | 'unauthorized' | 'server_error' | 'network' | 'timeout'

type Header = (name: string) => string | undefined

type Counter = ReturnType<MeterLike['createCounter']>
type Histogram = ReturnType<MeterLike['createHistogram']>

/** The instruments of one client (and the clients derived from it). */
export interface Telemetry {
  readonly tracer: TracerLike | undefined
  readonly duration: Histogram | undefined
  readonly throttled: Counter | undefined
  readonly retries: Counter | undefined
  readonly wait: Histogram | undefined
  readonly server: { 'server.address': string; 'server.port': number }
}

export function createTelemetry(
  options: TelemetryOptions | undefined,
  origin: string,
): Telemetry | undefined {
  const tracer = options?.tracer
  const meter = options?.meter
  if (!tracer && !meter) return undefined
  const url = new URL(origin)
  return {
    tracer,
    duration: meter?.createHistogram('http.client.request.duration', {
      description: 'Duration of HTTP client requests.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    throttled: meter?.createCounter('dataverse.client.throttled', {
      description: 'Responses 429 (service protection limits) received from Dataverse.',
      unit: '{response}',
    }),
    retries: meter?.createCounter('dataverse.client.retries', {
      description: 'Requests sent again by the client, by reason.',
      unit: '{retry}',
    }),
    wait: meter?.createHistogram('dataverse.client.wait.duration', {
      description:
        "Time a request waited for the org's throttle pause or concurrency limit before it was sent.",
      unit: 's',
    }),
    server: {
      'server.address': url.hostname,
      'server.port': url.port ? Number(url.port) : url.protocol === 'http:' ? 80 : 443,
    },
  }
}

/**
 * `url.full` without personal data: filters, alternate keys and function parameters may hold names or e-mail
 * addresses, so every query value, alternate-key value and function parameter value is replaced by `REDACTED`
 * (the semantic conventions ask for that redaction of sensitive query values). Names and the rest of the path stay.
 */
function redactUrl(url: string): string {
  const q = url.indexOf('?')
  const path = (q < 0 ? url : url.slice(0, q))
    .replace(/=('(?:[^']|'')*'|[^,)]*)/g, '=REDACTED')
    .replace(/'(?:[^']|'')*'/g, "'REDACTED'")
  if (q < 0) return path
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=')
      return eq < 0 ? pair : `${pair.slice(0, eq)}=REDACTED`
    })
    .join('&')
  return `${path}?${query}`
}

/**
 * One physical HTTP request. The HTTP client span conventions (stable) say a client SHOULD create a span for each
 * attempt it sends over the wire, with `http.request.resend_count` on resends (429, 401 then a fresh token, 5xx,
 * network errors), and SHOULD NOT also emit a logical span around them; so every attempt here gets its own CLIENT
 * span, named `{method}` (the path is not a low-cardinality target), and its own duration measurement, all
 * children of whatever span is active in the caller.
 */
export class Attempt {
  readonly #telemetry: Telemetry
  readonly #span: SpanLike | undefined
  readonly #attributes: TelemetryAttributes
  readonly #started: number

  constructor(
    telemetry: Telemetry,
    method: string,
    url: string,
    resendCount: number,
    headers: Record<string, string>,
  ) {
    this.#telemetry = telemetry
    this.#attributes = { 'http.request.method': method, ...telemetry.server }
    if (telemetry.tracer) {
      const attributes: TelemetryAttributes = {
        ...this.#attributes,
        'url.full': redactUrl(url),
        // whether the call acts for another user; the user's ids are personal data and never recorded
        'dataverse.impersonated': headers.callerobjectid !== undefined || headers.mscrmcallerid !== undefined,
      }
      if (resendCount > 0) attributes['http.request.resend_count'] = resendCount
      this.#span = telemetry.tracer.startSpan(method, { kind: SPAN_KIND_CLIENT, attributes })
    }
    this.#started = performance.now()
  }

  /** A response arrived; `retryAfterMs` is set on 429. */
  response(status: number, header: Header, retryAfterMs?: number): void {
    const attributes = this.#attributes
    attributes['http.response.status_code'] = status
    if (status >= 400) attributes['error.type'] = String(status)
    const span = this.#span
    if (span) {
      span.setAttribute('http.response.status_code', status)
      const requestId = header('x-ms-service-request-id')
      if (requestId) span.setAttribute('dataverse.service_request_id', requestId)
      for (const [name, key] of RATE_LIMIT_HEADERS) {
        const value = Number.parseFloat(header(name) ?? '')
        if (Number.isFinite(value)) span.setAttribute(key, value)
      }
      if (retryAfterMs !== undefined) span.setAttribute('dataverse.throttle.retry_after_ms', retryAfterMs)
      if (status >= 400) {
        span.setAttribute('error.type', String(status))
        span.setStatus({ code: STATUS_ERROR })
      }
    }
    if (status === 429) this.#telemetry.throttled?.add(1, this.#telemetry.server)
    this.#end()
  }

  /** No response: the exchange timed out, failed or was aborted. */
  failure(errorType: 'timeout' | 'network' | 'aborted'): void {
    this.#attributes['error.type'] = errorType
    if (this.#span) {
      this.#span.setAttribute('error.type', errorType)
      this.#span.setStatus({ code: STATUS_ERROR })
    }
    this.#end()
  }

  #end(): void {
    this.#telemetry.duration?.record((performance.now() - this.#started) / 1000, this.#attributes)
    this.#span?.end()
  }
}

export function recordRetry(telemetry: Telemetry, reason: RetryReason): void {
  telemetry.retries?.add(1, { ...telemetry.server, 'dataverse.retry.reason': reason })
}

export function recordWait(telemetry: Telemetry, startedAt: number): void {
  telemetry.wait?.record((performance.now() - startedAt) / 1000, telemetry.server)
}

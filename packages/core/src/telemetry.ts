// These structural types have a twin in @dataverse-s2s/webapi (src/telemetry.ts): the two packages depend on neither each other nor
// @opentelemetry/api, so each declares the slice of OpenTelemetry it calls. docs/snippets/observability.ts passes one
// real tracer and meter to both, which keeps both slices compatible with OpenTelemetry's own types.
/** An attribute value as OpenTelemetry takes it. */
export type TelemetryAttributeValue = string | number | boolean

/** Attributes of a span or a measurement. */
export type TelemetryAttributes = Record<string, TelemetryAttributeValue | undefined>

/** The part of an OpenTelemetry `Span` the provider uses; the spans of `@opentelemetry/api` satisfy it. */
export interface SpanLike {
  setAttribute(key: string, value: TelemetryAttributeValue): unknown
  setStatus(status: { code: number; message?: string }): unknown
  end(): void
}

/** The part of an OpenTelemetry `Tracer` the provider uses: pass `trace.getTracer('my-app')`. */
export interface TracerLike {
  startSpan(name: string, options?: { kind?: number; attributes?: TelemetryAttributes }): SpanLike
}

/** Options of a metric instrument, as OpenTelemetry's `Meter` takes them. */
export interface InstrumentOptions {
  description?: string
  unit?: string
  advice?: { explicitBucketBoundaries?: number[] }
}

/** The part of an OpenTelemetry `Meter` the provider uses: pass `metrics.getMeter('my-app')`. */
export interface MeterLike {
  createCounter(
    name: string,
    options?: InstrumentOptions,
  ): { add(value: number, attributes?: TelemetryAttributes): void }
  createHistogram(
    name: string,
    options?: InstrumentOptions,
  ): { record(value: number, attributes?: TelemetryAttributes): void }
}

/**
 * OpenTelemetry spans and metrics, without a dependency on `@opentelemetry/api`: pass its tracer and meter.
 * Nothing is recorded (and nothing is allocated for it) when both are absent.
 */
export interface TelemetryOptions {
  tracer?: TracerLike | undefined
  meter?: MeterLike | undefined
}

// Numeric values of @opentelemetry/api's SpanKind.CLIENT and SpanStatusCode.ERROR (stable since API 1.0).
const SPAN_KIND_CLIENT = 2
const STATUS_ERROR = 2

type Counter = ReturnType<MeterLike['createCounter']>
type Histogram = ReturnType<MeterLike['createHistogram']>

/** The instruments of one token provider. Tenant ids are recorded (they are not secret); tokens never are. */
export interface TokenTelemetry {
  readonly tracer: TracerLike | undefined
  readonly lookups: Counter | undefined
  readonly refreshes: Counter | undefined
  readonly refreshFailures: Counter | undefined
  readonly duration: Histogram | undefined
  readonly serverAddress: string
}

export function createTokenTelemetry(
  options: TelemetryOptions | undefined,
  authorityHost: string,
): TokenTelemetry | undefined {
  const tracer = options?.tracer
  const meter = options?.meter
  if (!tracer && !meter) return undefined
  return {
    tracer,
    lookups: meter?.createCounter('dataverse.token.cache.lookups', {
      description: 'Token requests answered from memory (hit) or not (miss).',
      unit: '{lookup}',
    }),
    refreshes: meter?.createCounter('dataverse.token.refreshes', {
      description: 'Background refreshes of a token ahead of its expiry.',
      unit: '{refresh}',
    }),
    refreshFailures: meter?.createCounter('dataverse.token.refresh.failures', {
      description: 'Background refreshes that failed (the valid token is still served).',
      unit: '{refresh}',
    }),
    duration: meter?.createHistogram('dataverse.token.acquisition.duration', {
      description: 'Duration of token requests to Entra ID (cache misses and refreshes).',
      unit: 's',
    }),
    serverAddress: new URL(authorityHost).hostname,
  }
}

/** Attributes of a cache lookup, built once per cached token so that a hit allocates nothing. */
export function lookupAttributes(
  tenantId: string,
  resource: string,
  result: 'hit' | 'miss',
): TelemetryAttributes {
  return { 'tenant.id': tenantId, 'dataverse.resource': resource, 'dataverse.token.cache.result': result }
}

/**
 * Wraps one request to Entra ID in a CLIENT span and a duration measurement. Cache hits never come here. The span
 * holds the tenant, the resource and the outcome; never the token, the secret or the assertion.
 */
export async function traceAcquisition<T>(
  telemetry: TokenTelemetry,
  context: { tenantId: string; resource: string; reason: 'miss' | 'refresh' },
  acquire: () => Promise<T>,
): Promise<T> {
  const attributes: TelemetryAttributes = {
    'tenant.id': context.tenantId,
    'dataverse.resource': context.resource,
    'dataverse.token.reason': context.reason,
    'server.address': telemetry.serverAddress,
  }
  const span = telemetry.tracer?.startSpan('dataverse.token.acquire', { kind: SPAN_KIND_CLIENT, attributes })
  const started = performance.now()
  try {
    return await acquire()
  } catch (error) {
    const code = (error as { code?: unknown } | undefined)?.code
    const errorType = typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown'
    attributes['error.type'] = errorType
    if (span) {
      span.setAttribute('error.type', errorType)
      const aadsts = (error as { details?: { aadsts?: unknown } } | undefined)?.details?.aadsts
      if (typeof aadsts === 'number') span.setAttribute('dataverse.token.aadsts', aadsts)
      span.setStatus({ code: STATUS_ERROR })
    }
    throw error
  } finally {
    telemetry.duration?.record((performance.now() - started) / 1000, attributes)
    span?.end()
  }
}

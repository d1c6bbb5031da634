// These structural types have a twin in @dataverse-s2s/core (src/telemetry.ts): the two packages depend on neither each other nor
// @opentelemetry/api, so each declares the slice of OpenTelemetry it calls. docs/snippets/observability.ts passes one
// real tracer and meter to both, which keeps both slices compatible with OpenTelemetry's own types.
/** An attribute value as OpenTelemetry takes it. */
export type TelemetryAttributeValue = string | number | boolean

/** Attributes of a span or a measurement. */
export type TelemetryAttributes = Record<string, TelemetryAttributeValue | undefined>

/** The part of an OpenTelemetry `Span` the client uses; the spans of `@opentelemetry/api` satisfy it. */
export interface SpanLike {
  setAttribute(key: string, value: TelemetryAttributeValue): unknown
  setStatus(status: { code: number; message?: string }): unknown
  end(): void
}

/** The part of an OpenTelemetry `Tracer` the client uses: pass `trace.getTracer('my-app')`. */
export interface TracerLike {
  startSpan(name: string, options?: { kind?: number; attributes?: TelemetryAttributes }): SpanLike
}

/** Options of a metric instrument, as OpenTelemetry's `Meter` takes them. */
export interface InstrumentOptions {
  description?: string
  unit?: string
  advice?: { explicitBucketBoundaries?: number[] }
}

/** The part of an OpenTelemetry `Meter` the client uses: pass `metrics.getMeter('my-app')`. */
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

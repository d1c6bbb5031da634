import { clientSecret, createTokenProvider } from '@dataverse-s2s/core'
import { createDataverseClient } from '@dataverse-s2s/webapi'
import { metrics, trace } from '@opentelemetry/api'
import { MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import type { Setup } from './setup.ts'

/** Registers OpenTelemetry's providers once, at start-up: spans go to `exporter`, metrics to `reader`. */
export function startTelemetry(exporter: SpanExporter, reader: MetricReader) {
  // #region providers
  // At start-up, before anything else runs. `exporter` is e.g. an OTLPTraceExporter from
  // @opentelemetry/exporter-trace-otlp-http, `reader` a PeriodicExportingMetricReader around its metric twin.
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] })
  const meterProvider = new MeterProvider({ readers: [reader] })
  trace.setGlobalTracerProvider(tracerProvider)
  metrics.setGlobalMeterProvider(meterProvider)
  // #endregion providers
  return {
    /** Sends what the batch processor holds (before reading an in-memory exporter, or at shutdown). */
    flush: () => tracerProvider.forceFlush(),
    stop: async () => {
      await tracerProvider.shutdown()
      await meterProvider.shutdown()
      trace.disable()
      metrics.disable()
    },
  }
}

/** The token provider and the client, both reporting to the global tracer and meter. */
export async function observedClient(setup: Setup) {
  const { clientId, cloud, ca, contoso } = setup
  // #region wire
  const telemetry = { tracer: trace.getTracer('my-app'), meter: metrics.getMeter('my-app') }

  const tokens = createTokenProvider({
    clientId,
    credential: clientSecret(setup.clientSecret),
    cloud, // omit on Microsoft's public cloud
    http: { ca }, // only for the emulator's self-made CA
    telemetry,
  })
  const client = createDataverseClient({
    url: contoso.orgUrl,
    ca, // only for the emulator's self-made CA
    getToken: (resource) => tokens.getToken({ tenantId: contoso.tenantId, resource }),
    telemetry,
  })
  // #endregion wire
  const me = await client.whoAmI()
  return { client, tokens, me }
}

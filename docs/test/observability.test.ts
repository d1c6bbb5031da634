import { startEmulator } from '@dataverse-s2s/emulator'
import { AggregationTemporality, type Histogram, MetricReader } from '@opentelemetry/sdk-metrics'
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { observedClient, startTelemetry } from '../snippets/observability.ts'
import { type Setup, setupFrom } from '../snippets/setup.ts'

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  }
  protected override async onForceFlush() {}
  protected override async onShutdown() {}
}

let setup: Setup
beforeAll(async () => {
  setup = setupFrom(await startEmulator({ port: 0 }))
})
afterAll(async () => {
  await setup?.emulator.stop()
})

describe('observability snippets', () => {
  it('wires OpenTelemetry into the token provider and the client: spans and metrics of one call', async () => {
    const exporter = new InMemorySpanExporter()
    const reader = new TestReader()
    const telemetry = startTelemetry(exporter, reader)
    try {
      const { me } = await observedClient(setup)
      expect(me.userId).toMatch(/^[0-9a-f-]{36}$/)
      const { resourceMetrics } = await reader.collect()
      const byName = new Map(
        resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]),
      )
      const duration = byName.get('http.client.request.duration')
      expect(duration?.descriptor.unit).toBe('s')
      expect((duration?.dataPoints[0]?.value as Histogram | undefined)?.count).toBe(1)
      expect(byName.get('dataverse.token.cache.lookups')?.dataPoints[0]?.attributes).toMatchObject({
        'tenant.id': setup.contoso.tenantId,
        'dataverse.token.cache.result': 'miss',
      })
      await telemetry.flush()
      const spans = exporter.getFinishedSpans()
      expect(spans.map((s) => s.name).sort()).toEqual(['GET', 'dataverse.token.acquire'])
      const get = spans.find((s) => s.name === 'GET')
      expect(get?.attributes['url.full']).toBe(`${setup.contoso.orgUrl}/api/data/v9.2/WhoAmI`)
      expect(get?.attributes['http.response.status_code']).toBe(200)
    } finally {
      await telemetry.stop()
    }
  })
})

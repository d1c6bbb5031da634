import { randomUUID } from 'node:crypto'
import { defaultIds, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { metrics, trace } from '@opentelemetry/api'
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  type Cloud,
  clientSecret,
  createTokenProvider,
  defineCloud,
  type TelemetryOptions,
  type TokenProviderOptions,
} from '../src/index.ts'
import { secretsSeen } from './helpers/leak-scan.ts'

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  }
  protected override async onForceFlush() {}
  protected override async onShutdown() {}
}

const ids = defaultIds
const exporter = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
let reader: TestReader
let telemetry: TelemetryOptions
let emu: EmulatorHandle
let cloud: Cloud
let orgUrl: string

async function points<T = number>(name: string): Promise<DataPoint<T>[]> {
  const { resourceMetrics } = await reader.collect()
  return resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .filter((m) => m.descriptor.name === name)
    .flatMap((m) => m.dataPoints as DataPoint<T>[])
}
const spans = (): ReadableSpan[] => exporter.getFinishedSpans()
const count = async (name: string, attributes: Record<string, unknown>) =>
  (await points(name))
    .filter((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
    .reduce((n, p) => n + p.value, 0)

async function until(condition: () => boolean | Promise<boolean>, what: string) {
  const deadline = Date.now() + 10_000
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

function provider(extra: Partial<TokenProviderOptions> = {}) {
  return createTokenProvider({
    clientId: ids.multiTenantAppId,
    credential: clientSecret(ids.multiTenantAppSecret),
    cloud,
    http: { ca: emu.caCertPem },
    ...extra,
  })
}

beforeAll(async () => {
  emu = await startEmulator({ port: 0 })
  cloud = defineCloud({ name: 'emulator', authorityHost: emu.url })
  orgUrl = emu.orgs.find((o) => o.tenantId === ids.contosoTenantId)?.url as string
})
afterAll(async () => {
  await emu?.stop()
})
beforeEach(() => {
  emu.admin.clearFaults()
  exporter.reset()
  reader = new TestReader()
  telemetry = {
    tracer: tracerProvider.getTracer('test'),
    meter: new MeterProvider({ readers: [reader] }).getMeter('test'),
  }
})

describe('token provider telemetry', () => {
  it('a miss then a hit: one CLIENT span for the request to Entra ID, none for the hit, and the counters', async () => {
    const tokens = provider({ telemetry })
    const request = { tenantId: ids.contosoTenantId, resource: orgUrl }
    const first = await tokens.getToken(request)
    const second = await tokens.getToken(request)
    expect(second).toBe(first)

    const [span] = spans()
    expect(spans()).toHaveLength(1)
    expect(span?.name).toBe('dataverse.token.acquire')
    expect(span?.kind).toBe(2) // SpanKind.CLIENT
    expect(span?.attributes).toEqual({
      'tenant.id': ids.contosoTenantId,
      'dataverse.resource': orgUrl,
      'dataverse.token.reason': 'miss',
      'server.address': new URL(emu.url).hostname,
    })
    expect(span?.status.code).toBe(0)

    const lookup = { 'tenant.id': ids.contosoTenantId, 'dataverse.resource': orgUrl }
    expect(
      await count('dataverse.token.cache.lookups', { ...lookup, 'dataverse.token.cache.result': 'miss' }),
    ).toBe(1)
    expect(
      await count('dataverse.token.cache.lookups', { ...lookup, 'dataverse.token.cache.result': 'hit' }),
    ).toBe(1)
    await tokens.getToken(request)
    expect(
      await count('dataverse.token.cache.lookups', { ...lookup, 'dataverse.token.cache.result': 'hit' }),
    ).toBe(2)
    const [duration] = await points<Histogram>('dataverse.token.acquisition.duration')
    expect(duration?.value.count).toBe(1)
    expect(duration?.value.sum).toBeGreaterThan(0)
    expect(duration?.value.sum).toBeLessThan(30) // seconds
    expect(duration?.attributes['dataverse.token.reason']).toBe('miss')
    expect(spans()).toHaveLength(1) // hits never make spans
  })

  it('a failed request is an error span and measurement with the TokenError code, never the secret', async () => {
    const tokens = provider({ telemetry })
    const tenantId = randomUUID()
    const error = await tokens.getToken({ tenantId, resource: orgUrl }).catch((e: unknown) => e)
    const code = (error as { code: string }).code
    expect(code).toMatch(/^[A-Z_]+$/)
    const [span] = spans()
    expect(span?.attributes['error.type']).toBe(code)
    expect(span?.attributes['tenant.id']).toBe(tenantId)
    expect(span?.status.code).toBe(2) // ERROR
    const [duration] = await points<Histogram>('dataverse.token.acquisition.duration')
    expect(duration?.attributes['error.type']).toBe(code)
  })

  it('counts background refreshes and their failures, with a span per refresh request', async () => {
    let skew = 0
    const tokens = provider({ telemetry, now: () => Date.now() + skew })
    const request = { tenantId: ids.contosoTenantId, resource: orgUrl }
    const { expiresOn } = await tokens.getToken(request)
    // inside the 5 minutes before expiry: served from memory, refreshed in the background
    skew = expiresOn.getTime() - Date.now() - 4 * 60_000
    await tokens.getToken(request)
    await until(() => spans().length === 2, 'the refresh span')
    expect(spans()[1]?.attributes['dataverse.token.reason']).toBe('refresh')
    expect(await count('dataverse.token.refreshes', { 'tenant.id': ids.contosoTenantId })).toBe(1)

    // the next refresh fails: Entra ID answers 400 without a body
    const fresh = await tokens.getToken(request)
    // its lifetime, seen from the skewed clock, is 4 minutes: refreshed after half of it, served until the last 24 s
    skew = fresh.expiresOn.getTime() - Date.now() - 60_000
    emu.admin.injectFault({ scope: 'entra', kind: 'status', status: 400, next: 1 })
    await tokens.getToken(request)
    await until(
      async () =>
        (await count('dataverse.token.refresh.failures', { 'tenant.id': ids.contosoTenantId })) === 1,
      'the refresh failure',
    )
    const [failure] = await points('dataverse.token.refresh.failures')
    expect(failure?.attributes['error.type']).toEqual(expect.stringMatching(/^[A-Z_]+$/))
    expect(spans()[2]?.status.code).toBe(2)
  })

  it('records no token or secret in any span or metric', async () => {
    const tokens = provider({ telemetry })
    const other = provider({ telemetry })
    const got = [
      await tokens.getToken({ tenantId: ids.contosoTenantId, resource: orgUrl }),
      await tokens.getToken({ tenantId: ids.contosoTenantId, resource: orgUrl }),
      await other
        .getToken({ tenantId: ids.fabrikamTenantId, resource: orgUrl.replace(/:\d+$/, ':1') })
        .catch(() => undefined),
    ]
    await tokens.getToken({ tenantId: randomUUID(), resource: orgUrl }).catch(() => undefined)
    const { resourceMetrics } = await reader.collect()
    const recorded = JSON.stringify([
      spans().map((s) => [s.name, s.attributes, s.events, s.status]),
      resourceMetrics.scopeMetrics.flatMap((s) =>
        s.metrics.map((m) => m.dataPoints.map((p) => p.attributes)),
      ),
    ])
    expect(spans().length).toBe(3)
    expect(
      secretsSeen({
        errors: [],
        logLines: [recorded],
        secrets: [ids.multiTenantAppSecret, ...got.flatMap((t) => (t ? [t.token] : []))],
      }),
    ).toEqual([])
  })

  it('without telemetry nothing is recorded, even with global providers set', async () => {
    const global = new InMemorySpanExporter()
    const globalReader = new TestReader()
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(global)] }),
    )
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [globalReader] }))
    try {
      trace.getTracer('probe').startSpan('probe').end()
      expect(global.getFinishedSpans()).toHaveLength(1)
      global.reset()
      for (const extra of [{}, { telemetry: {} }]) {
        const tokens = provider(extra)
        await tokens.getToken({ tenantId: ids.contosoTenantId, resource: orgUrl })
        await tokens.getToken({ tenantId: ids.contosoTenantId, resource: orgUrl })
      }
      // a meter alone measures but starts no span
      await provider({ telemetry: { meter: telemetry.meter } }).getToken({
        tenantId: ids.contosoTenantId,
        resource: orgUrl,
      })
      expect(global.getFinishedSpans()).toEqual([])
      expect(spans()).toEqual([])
      const { resourceMetrics } = await globalReader.collect()
      expect(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)).toEqual([])
      expect((await points<Histogram>('dataverse.token.acquisition.duration'))[0]?.value.count).toBe(1)
    } finally {
      trace.disable()
      metrics.disable()
    }
  })
})

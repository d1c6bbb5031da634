import { defaultIds } from '@dataverse-s2s/emulator'
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
import { type DataverseClientOptions, odata, type TelemetryOptions } from '../src/index.ts'
import { startWorld, type World } from './support.ts'

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  }
  protected override async onForceFlush() {}
  protected override async onShutdown() {}
}

const exporter = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
let reader: TestReader
let telemetry: TelemetryOptions

async function points<T = number>(name: string): Promise<DataPoint<T>[]> {
  const { resourceMetrics } = await reader.collect()
  return resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .filter((m) => m.descriptor.name === name)
    .flatMap((m) => m.dataPoints as DataPoint<T>[])
}

const spans = (): ReadableSpan[] => exporter.getFinishedSpans()

let world: World
let client: (extra?: Partial<DataverseClientOptions>) => ReturnType<World['appClient']>
let port: number
beforeAll(async () => {
  world = await startWorld()
  port = Number(new URL(world.contosoUrl).port)
  client = (extra = {}) =>
    world.appClient(world.contosoUrl, defaultIds.contosoTenantId, {
      retry: { baseDelayMs: 5, maxDelayMs: 50 },
      ...extra,
    })
})
afterAll(async () => {
  await world?.stop()
})
beforeEach(() => {
  exporter.reset()
  reader = new TestReader()
  const meterProvider = new MeterProvider({ readers: [reader] })
  telemetry = { tracer: tracerProvider.getTracer('test'), meter: meterProvider.getMeter('test') }
  world.emulator.admin.clearFaults()
})

describe('webapi telemetry', () => {
  it('records one CLIENT span and one duration per successful request, with the HTTP semantic conventions', async () => {
    const c = client({ telemetry })
    const id = await c.create('accounts', { name: 'Telemetry Success' })
    await c.retrieve('accounts', id, { select: ['name'] })
    const [create, get] = spans()
    expect(spans()).toHaveLength(2)
    expect(create?.name).toBe('POST')
    expect(create?.kind).toBe(2) // SpanKind.CLIENT
    expect(get?.attributes).toMatchObject({
      'http.request.method': 'GET',
      'server.address': 'localhost',
      'server.port': port,
      'http.response.status_code': 200,
      'dataverse.impersonated': false,
      'url.full': `${world.contosoUrl}/api/data/v9.2/accounts(${id})?$select=REDACTED`,
    })
    expect(get?.attributes['dataverse.service_request_id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(get?.attributes['dataverse.ratelimit.burst_remaining_requests']).toEqual(expect.any(Number))
    expect(get?.attributes['dataverse.ratelimit.time_remaining_ms']).toEqual(expect.any(Number))
    expect(get?.attributes['http.request.resend_count']).toBeUndefined()
    expect(get?.attributes['error.type']).toBeUndefined()
    expect(get?.status.code).toBe(0) // UNSET

    const durations = await points<Histogram>('http.client.request.duration')
    const byMethod = Object.fromEntries(durations.map((p) => [p.attributes['http.request.method'], p]))
    expect(byMethod.GET?.attributes).toEqual({
      'http.request.method': 'GET',
      'server.address': 'localhost',
      'server.port': port,
      'http.response.status_code': 200,
    })
    expect(byMethod.GET?.value.count).toBe(1)
    expect(byMethod.POST?.value.count).toBe(1)
    expect(byMethod.GET?.value.sum).toBeGreaterThan(0)
    expect(byMethod.GET?.value.sum).toBeLessThan(60) // seconds, not milliseconds
  })

  it('a 429 then a success: two spans, the second with http.request.resend_count, retry_after and the counters', async () => {
    const c = client({ telemetry })
    world.emulator.admin.injectFault({
      scope: defaultIds.contosoOrgId,
      kind: '429',
      next: 1,
      retryAfterSeconds: 0.05,
      path: '/WhoAmI',
    })
    await c.whoAmI()
    const [throttled, ok] = spans()
    expect(spans()).toHaveLength(2)
    expect(throttled?.attributes).toMatchObject({
      'http.response.status_code': 429,
      'error.type': '429',
      'dataverse.throttle.retry_after_ms': 50,
    })
    expect(throttled?.status.code).toBe(2) // ERROR
    expect(throttled?.attributes['http.request.resend_count']).toBeUndefined()
    expect(ok?.attributes).toMatchObject({ 'http.response.status_code': 200, 'http.request.resend_count': 1 })
    expect(ok?.attributes['dataverse.throttle.retry_after_ms']).toBeUndefined()

    const [throttles] = await points('dataverse.client.throttled')
    expect(throttles?.value).toBe(1)
    expect(throttles?.attributes).toEqual({ 'server.address': 'localhost', 'server.port': port })
    const retries = await points('dataverse.client.retries')
    expect(retries.map((p) => [p.attributes['dataverse.retry.reason'], p.value])).toEqual([['throttled', 1]])
    const durations = await points<Histogram>('http.client.request.duration')
    expect(
      durations.map((p) => [p.attributes['http.response.status_code'], p.attributes['error.type']]),
    ).toEqual(
      expect.arrayContaining([
        [429, '429'],
        [200, undefined],
      ]),
    )
    // the retry waited for the org's pause behind the governor
    const waits = await points<Histogram>('dataverse.client.wait.duration')
    expect(waits[0]?.value.count).toBeGreaterThanOrEqual(1)
    expect(waits[0]?.value.sum).toBeGreaterThan(0.03)
  })

  it('a 404 is an error span with error.type "404" and no retry', async () => {
    const c = client({ telemetry })
    await expect(c.retrieve('accounts', '00000000-0000-4000-8000-00000000dead')).rejects.toMatchObject({
      status: 404,
    })
    const [span] = spans()
    expect(spans()).toHaveLength(1)
    expect(span?.attributes).toMatchObject({ 'http.response.status_code': 404, 'error.type': '404' })
    expect(span?.status.code).toBe(2)
    expect(await points('dataverse.client.retries')).toEqual([])
    const [duration] = await points<Histogram>('http.client.request.duration')
    expect(duration?.attributes['error.type']).toBe('404')
  })

  it('an impersonated call says so and records neither the caller id nor the systemuserid', async () => {
    const c = client({ telemetry }).as({ callerObjectId: defaultIds.users.contosoAlice })
    const me = await c.whoAmI()
    const [span] = spans()
    expect(span?.attributes['dataverse.impersonated']).toBe(true)
    const recorded = JSON.stringify(spans().map((s) => [s.name, s.attributes, s.events]))
    expect(recorded).not.toContain(defaultIds.users.contosoAlice)
    expect(recorded).not.toContain(me.userId)
  })

  it('records no token, no query-string value and no alternate-key value anywhere', async () => {
    const c = client({ telemetry })
    const { token } = await world.tokens.getToken({
      tenantId: defaultIds.contosoTenantId,
      resource: world.contosoUrl,
    })
    const name = 'Scan Person Fourth-Coffee'
    const accountnumber = 'jane.doe@ex.com'
    await c.upsert('accounts', { accountnumber }, { name })
    await c.create('accounts', { name })
    const rows = []
    for await (const row of c.queryAll('accounts', {
      select: ['name'],
      filter: odata`name eq ${name}`,
      maxPageSize: 1,
    })) {
      rows.push(row)
    }
    expect(rows).toHaveLength(2) // two pages: the nextLink's $skiptoken is redacted too
    world.emulator.admin.injectFault({
      scope: defaultIds.contosoOrgId,
      kind: '429',
      next: 1,
      retryAfterSeconds: 0.01,
    })
    await c.retrieve('accounts', { accountnumber }, { select: ['name'] })
    const { resourceMetrics } = await reader.collect()
    const recorded = JSON.stringify([
      spans().map((s) => [s.name, s.attributes, s.events]),
      resourceMetrics.scopeMetrics.flatMap((s) =>
        s.metrics.map((m) => m.dataPoints.map((p) => p.attributes)),
      ),
    ])
    expect(spans().length).toBeGreaterThanOrEqual(4)
    expect(recorded).toContain('accounts(accountnumber=REDACTED)')
    expect(recorded).toContain('$filter=REDACTED')
    expect(recorded).toContain('$skiptoken=REDACTED')
    for (const secret of [
      token,
      token.split('.')[2] as string,
      defaultIds.multiTenantAppSecret,
      'Scan Person',
      'Scan%20Person',
      'jane.doe',
      'select=name',
    ]) {
      expect(recorded).not.toContain(secret)
    }
  })

  it('without telemetry the client never creates a span or a measurement, even with global providers set', async () => {
    const global = new InMemorySpanExporter()
    const globalReader = new TestReader()
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(global)] }),
    )
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [globalReader] }))
    try {
      // the global API works: a span started through it is exported
      trace.getTracer('probe').startSpan('probe').end()
      expect(global.getFinishedSpans()).toHaveLength(1)
      global.reset()
      for (const extra of [{}, { telemetry: {} }]) {
        world.emulator.admin.injectFault({
          scope: defaultIds.contosoOrgId,
          kind: '429',
          next: 1,
          retryAfterSeconds: 0.01,
        })
        await client(extra).whoAmI()
      }
      // and a meter alone records metrics but starts no span
      await client({ telemetry: { meter: telemetry.meter } }).whoAmI()
      expect(global.getFinishedSpans()).toEqual([])
      expect(spans()).toEqual([])
      const { resourceMetrics } = await globalReader.collect()
      expect(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)).toEqual([])
      expect((await points<Histogram>('http.client.request.duration'))[0]?.value.count).toBe(1)
    } finally {
      trace.disable()
      metrics.disable()
    }
  })
})

// Three app instances (processes) on one Redis against one org limited to 600 requests / 10 s and 52 concurrent:
// 5,000 rows upserted by key from a shared queue, with one throttle budget shared through Redis beside three
// independent governors; then the shared case with one instance SIGKILLed halfway (a supervisor requeues the keys it
// held); then a cold storm of 1,000 token callers over three processes on 100 tenants (shared token cache).
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { defaultIds, trustEmulatorGlobally } from '@dataverse-s2s/emulator'
import { connectRedis } from '@dataverse-s2s/redis'
import type { BenchmarkResult } from '../report.ts'
import { startEmulatorProcess } from './throttled-bulk.ts'

const ROWS = Number(process.env.BENCH_ROWS ?? 5000)
const LIMIT = 600
const WINDOW_S = 10
const INSTANCES = 3
const worker = fileURLToPath(new URL('../scale-out/worker.ts', import.meta.url))

interface WorkerLine {
  started?: number
  done?: number
  failures?: number
  throttles?: number
  ok?: number
  ms?: number
}

function startWorker(env: Record<string, string>): {
  child: ChildProcess
  result: Promise<WorkerLine>
  started: Promise<void>
} {
  const child = spawn(process.execPath, ['--conditions=@dataverse-s2s/source', '--import', 'tsx', worker], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  let onStart: () => void = () => {}
  const started = new Promise<void>((r) => {
    onStart = r
  })
  const result = new Promise<WorkerLine>((resolve) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('"started"')) onStart()
    })
    child.on('exit', () => {
      const lines = out
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{') && !l.includes('"started"'))
      resolve(lines.length ? (JSON.parse(lines.at(-1) as string) as WorkerLine) : {})
    })
  })
  return { child, result, started }
}

export async function run(): Promise<BenchmarkResult> {
  const { info: emulator, child: emulatorProcess } = await startEmulatorProcess()
  const restoreTrust = trustEmulatorGlobally(emulator.caCertPem)
  const redis = await connectRedis({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' })
  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${emulator.url}/_emulator${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    if (!response.ok) throw new Error(`admin ${method} ${path}: ${response.status} ${await response.text()}`)
    return response.status === 204 ? undefined : ((await response.json()) as unknown)
  }
  const orgId = defaultIds.contosoOrgId
  const org = emulator.orgs.find((o) => o.id === orgId)
  if (!org) throw new Error('Contoso org missing')
  const keyRing = `bench:${randomBytes(32).toString('base64')}`
  const base = {
    APP_ID: defaultIds.multiTenantAppId,
    APP_SECRET: defaultIds.multiTenantAppSecret,
    AUTHORITY: emulator.url,
    CA: emulator.caCertPem,
    ORG_URL: org.url,
    TENANT_ID: defaultIds.contosoTenantId,
    KEY_RING: keyRing,
  }
  const counters = async () => {
    const c = (await admin('GET', '/counters')) as {
      dataverseRequests: { status: number; count: number }[]
      totals: { tokenRequests: number; dataverseRequests: number }
    }
    const throttled = c.dataverseRequests.filter((r) => r.status === 429).reduce((n, r) => n + r.count, 0)
    return { throttled, requests: c.totals.dataverseRequests, tokens: c.totals.tokenRequests }
  }
  const verify = async (run: string) => {
    // count every key of the run once: raise the limit so the check itself is not throttled
    await admin('PUT', `/orgs/${orgId}/limits`, { requestsPerWindow: 1_000_000, windowSeconds: WINDOW_S })
    const seen = new Map<string, number>()
    let next: string | undefined =
      `${org.url}/api/data/v9.2/accounts?$select=accountnumber&$filter=startswith(accountnumber,'${run}-')`
    const token = (await (
      await fetch(`${emulator.url}/${defaultIds.contosoTenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: defaultIds.multiTenantAppId,
          client_secret: defaultIds.multiTenantAppSecret,
          scope: `${org.url}/.default`,
        }),
      })
    ).json()) as { access_token: string }
    while (next) {
      const page = (await (
        await fetch(next, {
          headers: { authorization: `Bearer ${token.access_token}`, prefer: 'odata.maxpagesize=5000' },
        })
      ).json()) as {
        value: { accountnumber: string }[]
        '@odata.nextLink'?: string
      }
      for (const r of page.value) seen.set(r.accountnumber, (seen.get(r.accountnumber) ?? 0) + 1)
      next = page['@odata.nextLink']
    }
    let lost = 0
    for (let i = 0; i < ROWS; i++) if (!seen.has(`${run}-${i}`)) lost++
    const duplicated = [...seen.values()].filter((n) => n > 1).length
    return { lost, duplicated }
  }

  const runCase = async (mode: 'shared' | 'independent', kill: boolean) => {
    // a fresh window and fresh counters for each case
    await admin('PUT', `/orgs/${orgId}/limits`, {
      requestsPerWindow: LIMIT,
      windowSeconds: WINDOW_S,
      concurrentRequests: 52,
    })
    await new Promise((r) => setTimeout(r, WINDOW_S * 1000 + 500))
    await admin('DELETE', '/counters')
    const run = `SO${randomUUID().slice(0, 8)}`
    const prefix = `bench:${run}:`
    const keys = Array.from({ length: ROWS }, (_, i) => `${run}-${i}`)
    for (let i = 0; i < keys.length; i += 1000)
      await redis.sendCommand(['RPUSH', `${prefix}queue`, ...keys.slice(i, i + 1000)])
    const workers = Array.from({ length: INSTANCES }, () =>
      startWorker({ ...base, MODE: mode, PREFIX: prefix }),
    )
    await Promise.all(workers.map((w) => w.started))
    await redis.sendCommand(['SET', `${prefix}go`, '1'])
    const started = performance.now()
    if (kill) {
      const victim = workers[0] as ReturnType<typeof startWorker>
      for (;;) {
        const left = Number(await redis.sendCommand(['LLEN', `${prefix}queue`]))
        if (left <= ROWS / 2) break
        await new Promise((r) => setTimeout(r, 100))
      }
      victim.child.kill('SIGKILL')
      await victim.result
      // the supervisor gives the dead instance's keys back to the queue; upsert by key makes a repeat harmless
      const held = `${prefix}processing:${victim.child.pid}`
      while ((await redis.sendCommand(['LMOVE', held, `${prefix}queue`, 'RIGHT', 'LEFT'])) !== null) {}
    }
    const lines = await Promise.all(workers.map((w) => w.result))
    const ms = performance.now() - started
    const c = await counters()
    const check = await verify(run)
    let cursor = '0'
    do {
      const [nextCursor, found] = (await redis.sendCommand([
        'SCAN',
        cursor,
        'MATCH',
        `${prefix}*`,
        'COUNT',
        '1000',
      ])) as [string, string[]]
      cursor = nextCursor
      if (found.length) await redis.sendCommand(['DEL', ...found])
    } while (cursor !== '0')
    return { ms, ...c, ...check, failures: lines.reduce((n, l) => n + (l.failures ?? 0), 0) }
  }

  try {
    const minimumMs = Math.floor((ROWS - 1) / LIMIT) * WINDOW_S * 1000
    const shared = await runCase('shared', false)
    const independent = await runCase('independent', false)
    const killed = await runCase('shared', true)

    // Cold storm: 100 consented tenants, 1,000 callers over three fresh processes sharing the Redis token cache.
    const tenants: string[] = []
    const stormRun = randomUUID().slice(0, 8)
    for (let i = 0; i < 100; i++) {
      const t = (await admin('POST', '/tenants', {
        displayName: `Storm ${stormRun} ${i}`,
        domain: `storm-${stormRun}-${i}.onmicrosoft.com`,
      })) as { id: string }
      await admin('POST', '/consents', { tenantId: t.id, appId: defaultIds.multiTenantAppId })
      tenants.push(t.id)
    }
    await admin('DELETE', '/counters')
    const stormPrefix = `bench:storm-${randomUUID().slice(0, 8)}:`
    const storm = Array.from({ length: INSTANCES }, (_, i) =>
      startWorker({
        ...base,
        MODE: 'storm',
        PREFIX: stormPrefix,
        TENANTS: tenants.join(','),
        CALLERS: String(i === 0 ? 334 : 333),
      }),
    )
    const stormLines = await Promise.all(storm.map((w) => w.result))
    const stormTokens = (await counters()).tokens
    const stormOk = stormLines.reduce((n, l) => n + (l.ok ?? 0), 0)

    const pct = (n: number, of: number) => Number(((100 * n) / Math.max(1, of)).toFixed(2))
    const row = (name: string, r: typeof shared) => ({
      case: name,
      rows: ROWS,
      'requests sent': r.requests,
      '429s': r.throttled,
      '429s (% of requests)': pct(r.throttled, r.requests),
      'wall time (s)': Number((r.ms / 1000).toFixed(1)),
      'wall time / minimum': Number((r.ms / minimumMs).toFixed(3)),
      lost: r.lost,
      duplicated: r.duplicated,
      failures: r.failures,
    })
    return {
      rows: [
        row('shared budget (Redis), 3 instances', shared),
        row('three independent governors', independent),
        row('shared budget, one instance SIGKILLed halfway', killed),
        {
          case: 'cold storm: 1,000 callers, 3 processes, 100 tenants (shared token cache)',
          callers: 1000,
          'tokens served': stormOk,
          'token requests': stormTokens,
        },
      ],
      ratios: {
        'independent 429s / shared 429s': independent.throttled / Math.max(1, shared.throttled),
        'shared wall time / minimum the limit allows': shared.ms / minimumMs,
        'independent wall time / minimum the limit allows': independent.ms / minimumMs,
        'killed-run wall time / minimum the limit allows': killed.ms / minimumMs,
        'token requests / tenants (storm)': stormTokens / 100,
      },
      targets: {
        'shared: 429s under 1% of requests': {
          target: '< 1%',
          value: pct(shared.throttled, shared.requests),
          met: shared.throttled < shared.requests / 100,
        },
        'shared: wall time vs minimum': {
          target: '<= 1.25x',
          value: Number((shared.ms / minimumMs).toFixed(3)),
          met: shared.ms / minimumMs <= 1.25,
        },
        'shared: rows lost or duplicated': {
          target: '0',
          value: shared.lost + shared.duplicated,
          met: shared.lost + shared.duplicated === 0,
        },
        'killed: rows lost or duplicated': {
          target: '0',
          value: killed.lost + killed.duplicated,
          met: killed.lost + killed.duplicated === 0,
        },
        'storm: token requests': {
          target: '100',
          value: stormTokens,
          met: stormTokens === 100 && stormOk === 1000,
        },
      },
      notes: [
        `minimum wall time the limit allows for ${ROWS} requests at ${LIMIT} / ${WINDOW_S} s: ${minimumMs / 1000} s`,
        "rows are upserted by alternate key (accountnumber) from a Redis queue; a killed instance's keys are requeued by the bench (its supervisor), so a repeat cannot duplicate",
        '429s are counted by the emulator (every 429 it answered), requests likewise (all Dataverse requests of the case)',
      ],
    }
  } finally {
    await redis.close()
    restoreTrust()
    emulatorProcess.kill()
  }
}

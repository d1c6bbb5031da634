// 5,000 creates against an org limited to 600 requests per 10 s (the emulator's service protection, scaled down
// from Dataverse's 6,000 per 300 s): ours (every create handed to the client at once; it paces itself on
// Retry-After and its limiter) beside a naive Promise.all over node:https (keep-alive) with no retry logic, and the
// same rows through the bulk message (createMultiple in chunks of BULK_CHUNK): one request per chunk, not per row.
import { type ChildProcess, spawn } from 'node:child_process'
import * as https from 'node:https'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { clientSecret, createTokenProvider, defineCloud } from '@dataverse-s2s/core'
import { defaultIds, type EmulatorInfo, trustEmulatorGlobally } from '@dataverse-s2s/emulator'
import { createDataverseClient, isDataverseError } from '@dataverse-s2s/webapi'
import type { BenchmarkResult } from '../report.ts'

const emulatorDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'packages', 'emulator')

/** The emulator CLI in its own process (so its work does not share our event loop), driven by its admin HTTP API. */
export async function startEmulatorProcess(): Promise<{ info: EmulatorInfo; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['--conditions=@dataverse-s2s/source', '--import', 'tsx', 'src/cli.ts', '--port', '0', '--json'],
    { cwd: emulatorDir, stdio: ['ignore', 'pipe', 'ignore'] },
  )
  const line = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)))
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) resolve(out.slice(0, nl))
    })
  })
  return { info: JSON.parse(line) as EmulatorInfo, child }
}

const CREATES = Number(process.env.BENCH_CREATES ?? 5000)
const LIMIT = 600
const WINDOW_S = 10
const BULK_CHUNK = 100

export async function run(): Promise<BenchmarkResult> {
  const { info: emulator, child } = await startEmulatorProcess()
  const restoreTrust = trustEmulatorGlobally(emulator.caCertPem)
  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${emulator.url}/_emulator${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    if (!response.ok) throw new Error(`admin ${method} ${path}: ${response.status} ${await response.text()}`)
    return response.status === 204 ? undefined : ((await response.json()) as unknown)
  }
  try {
    const orgId = defaultIds.contosoOrgId
    const tenantId = defaultIds.contosoTenantId
    const org = emulator.orgs.find((o) => o.id === orgId)
    if (!org) throw new Error('Contoso org missing')
    await admin('PUT', `/orgs/${orgId}/limits`, { requestsPerWindow: LIMIT, windowSeconds: WINDOW_S })
    const tokens = createTokenProvider({
      clientId: defaultIds.multiTenantAppId,
      credential: clientSecret(defaultIds.multiTenantAppSecret),
      cloud: defineCloud({ name: 'emulator', authorityHost: emulator.url, dataverseHosts: ['localhost'] }),
      http: { ca: emulator.caCertPem },
    })
    const getToken = async (resource: string, o: { forceRefresh: boolean }) => {
      if (o.forceRefresh) tokens.invalidate({ tenantId, resource })
      return tokens.getToken({ tenantId, resource })
    }
    const token = (await tokens.getToken({ tenantId, resource: org.url })).token
    const rowsNow = async () =>
      ((await admin('GET', `/orgs/${orgId}/tables/account/count`)) as { count: number }).count

    // Ours.
    let throttles = 0
    const client = createDataverseClient({
      url: org.url,
      getToken,
      ca: emulator.caCertPem,
      retry: { budgetMs: 300_000 },
      logger: { warn: (m) => (m.includes('throttled') ? throttles++ : undefined) },
    })
    const before = await rowsNow()
    const started = performance.now()
    const outcomes = await Promise.allSettled(
      Array.from({ length: CREATES }, (_, i) => client.create('accounts', { name: `bulk ours ${i}` })),
    )
    const oursMs = performance.now() - started
    const oursFailed = outcomes.filter((o) => o.status === 'rejected')
    const oursRows = (await rowsNow()) - before
    const minimumMs = Math.floor((CREATES - 1) / LIMIT) * WINDOW_S * 1000

    // Let the window clear, then the naive client.
    await new Promise((r) => setTimeout(r, WINDOW_S * 1000 + 500))
    const beforeNaive = await rowsNow()
    const naiveStarted = performance.now()
    // node:https with a keep-alive pool of 50 sockets, as dynamics-web-api sends (its agent cannot take the emulator's CA).
    const agent = new https.Agent({ keepAlive: true, maxSockets: 50, ca: emulator.caCertPem })
    const target = new URL(`${org.url}/api/data/v9.2/accounts`)
    const statuses = await Promise.all(
      Array.from(
        { length: CREATES },
        (_, i) =>
          new Promise<string>((resolve) => {
            const body = JSON.stringify({ name: `bulk naive ${i}` })
            const request = https.request(
              target,
              {
                method: 'POST',
                agent,
                headers: {
                  authorization: `Bearer ${token}`,
                  'content-type': 'application/json',
                  'content-length': Buffer.byteLength(body),
                  accept: 'application/json',
                  'odata-version': '4.0',
                  'odata-maxversion': '4.0',
                },
              },
              (response) => {
                response.resume()
                response.on('end', () => resolve(String(response.statusCode)))
              },
            )
            request.on('error', () => resolve('network error'))
            request.end(body)
          }),
      ),
    )
    agent.destroy()
    const naiveMs = performance.now() - naiveStarted
    const naiveRows = (await rowsNow()) - beforeNaive

    // Let the window clear again, then the same creates as bulk messages.
    await new Promise((r) => setTimeout(r, WINDOW_S * 1000 + 500))
    const beforeBulk = await rowsNow()
    const bulkStarted = performance.now()
    const bulk = await client.createMultiple(
      { entitySet: 'accounts', logicalName: 'account' },
      Array.from({ length: CREATES }, (_, i) => ({ name: `bulk multiple ${i}` })),
      { chunkSize: BULK_CHUNK },
    )
    const bulkMs = performance.now() - bulkStarted
    const bulkRows = (await rowsNow()) - beforeBulk

    const byStatus: Record<string, number> = {}
    for (const s of statuses) byStatus[s] = (byStatus[s] ?? 0) + 1
    const naiveFailures = statuses.filter((s) => s !== '204').length

    const ratio = oursMs / minimumMs
    return {
      rows: [
        {
          case: 'ours: Promise.all over client.create (paced by the client)',
          creates: CREATES,
          'rows created': oursRows,
          failures: oursFailed.length,
          '429s absorbed': throttles,
          'wall time (s)': Number((oursMs / 1000).toFixed(1)),
        },
        {
          case: `ours: createMultiple, ${BULK_CHUNK} rows per request`,
          creates: CREATES,
          'rows created': bulkRows,
          failures: CREATES - bulk.length,
          requests: Math.ceil(CREATES / BULK_CHUNK),
          'wall time (s)': Number((bulkMs / 1000).toFixed(1)),
        },
        {
          case: 'naive: Promise.all over node:https, no retries',
          creates: CREATES,
          'rows created': naiveRows,
          failures: naiveFailures,
          statuses: Object.entries(byStatus)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', '),
          'wall time (s)': Number((naiveMs / 1000).toFixed(1)),
        },
      ],
      ratios: {
        'ours wall time / minimum the limit allows': ratio,
        'ours rows / naive rows': oursRows / Math.max(naiveRows, 1),
        'single creates wall time / createMultiple wall time': oursMs / bulkMs,
      },
      targets: {
        'ours: creates lost': {
          target: '0',
          value: CREATES - oursRows,
          met: oursRows === CREATES && oursFailed.length === 0,
        },
        'ours: wall time vs minimum': {
          target: '<= 1.25x',
          value: Number(ratio.toFixed(3)),
          met: ratio <= 1.25,
        },
        'createMultiple: creates lost': {
          target: '0',
          value: CREATES - bulkRows,
          met: bulkRows === CREATES && bulk.length === CREATES,
        },
      },
      notes: [
        'The emulator runs in its own process (CLI), HTTPS with its generated CA; tokens from @dataverse-s2s/core.',
        `Emulator limit ${LIMIT} requests per ${WINDOW_S} s sliding window per caller (plus 52 concurrent); minimum wall time for ${CREATES} requests = floor((${CREATES} - 1) / ${LIMIT}) x ${WINDOW_S} s = ${minimumMs / 1000} s.`,
        'createMultiple: the emulator counts a bulk message as one request against the request limit (Microsoft documents no other rule) and does each row far faster than a real org (no plug-ins, no per-row server work), so on Dataverse the gain is smaller than this ratio; it shows that the request limit stops being the bottleneck.',
        ...oursFailed.slice(0, 3).map((o) => {
          const reason = (o as PromiseRejectedResult).reason
          return `ours failure: ${isDataverseError(reason) ? reason.message : String(reason)}`
        }),
      ],
    }
  } finally {
    restoreTrust()
    child.kill()
  }
}

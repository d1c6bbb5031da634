// 5,000 creates against an org limited to 600 requests per 10 s (the emulator's service protection, scaled down
// from Dataverse's 6,000 per 300 s): ours (every create handed to the client at once; it paces itself on
// Retry-After and its limiter) beside a naive Promise.all over fetch with no retry logic.
import { clientSecret, createTokenProvider, defineCloud } from '@dataverse-s2s/core'
import { defaultIds, startEmulator, trustEmulatorGlobally } from '@dataverse-s2s/emulator'
import { createDataverseClient, isDataverseError } from '@dataverse-s2s/webapi'
import type { BenchmarkResult } from '../report.ts'

const CREATES = Number(process.env.BENCH_CREATES ?? 5000)
const LIMIT = 600
const WINDOW_S = 10

export async function run(): Promise<BenchmarkResult> {
  const emulator = await startEmulator({ port: 0 })
  const restoreTrust = trustEmulatorGlobally(emulator.caCertPem)
  try {
    const orgId = defaultIds.contosoOrgId
    const tenantId = defaultIds.contosoTenantId
    const org = emulator.orgs.find((o) => o.id === orgId)
    if (!org) throw new Error('Contoso org missing')
    emulator.admin.setLimits(orgId, { requestsPerWindow: LIMIT, windowSeconds: WINDOW_S })
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
    const rowsNow = () => emulator.admin.org(orgId).data.count('account')

    // Ours.
    let throttles = 0
    const client = createDataverseClient({
      url: org.url,
      getToken,
      ca: emulator.caCertPem,
      retry: { budgetMs: 300_000 },
      logger: { warn: (m) => (m.includes('throttled') ? throttles++ : undefined) },
    })
    const before = rowsNow()
    const started = performance.now()
    const outcomes = await Promise.allSettled(
      Array.from({ length: CREATES }, (_, i) => client.create('accounts', { name: `bulk ours ${i}` })),
    )
    const oursMs = performance.now() - started
    const oursFailed = outcomes.filter((o) => o.status === 'rejected')
    const oursRows = rowsNow() - before
    const minimumMs = Math.floor((CREATES - 1) / LIMIT) * WINDOW_S * 1000

    // Let the window clear, then the naive client.
    await new Promise((r) => setTimeout(r, WINDOW_S * 1000 + 500))
    const beforeNaive = rowsNow()
    const naiveStarted = performance.now()
    const statuses = await Promise.all(
      Array.from({ length: CREATES }, async (_, i) => {
        try {
          const response = await fetch(`${org.url}/api/data/v9.2/accounts`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
              accept: 'application/json',
              'odata-version': '4.0',
              'odata-maxversion': '4.0',
            },
            body: JSON.stringify({ name: `bulk naive ${i}` }),
          })
          await response.arrayBuffer()
          return String(response.status)
        } catch {
          return 'network error'
        }
      }),
    )
    const naiveMs = performance.now() - naiveStarted
    const naiveRows = rowsNow() - beforeNaive
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
          case: 'naive: Promise.all over fetch, no retries',
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
      },
      notes: [
        `Emulator limit ${LIMIT} requests per ${WINDOW_S} s sliding window per caller (plus 52 concurrent); minimum wall time for ${CREATES} requests = floor((${CREATES} - 1) / ${LIMIT}) x ${WINDOW_S} s = ${minimumMs / 1000} s.`,
        ...oursFailed.slice(0, 3).map((o) => {
          const reason = (o as PromiseRejectedResult).reason
          return `ours failure: ${isDataverseError(reason) ? reason.message : String(reason)}`
        }),
      ],
    }
  } finally {
    restoreTrust()
    await emulator.stop()
  }
}

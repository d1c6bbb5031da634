import { defaultIds } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { odata } from '../src/index.ts'
import { startWorld, type World } from './support.ts'

let world: World
beforeAll(async () => {
  world = await startWorld()
})
afterAll(async () => {
  await world?.stop()
})

it('10,000 upserts by alternate key under 10% injected faults end with exactly 10,000 rows', async () => {
  const { admin } = world.emulator
  // The org's own request limit (6,000 / 300 s) is not what this test is about; the throttled-bulk bench covers it.
  admin.setLimits(defaultIds.contosoOrgId, { requestsPerWindow: 1_000_000 })
  // Each rule draws on its own, so three rules at ~3.4% give ~10% faulted requests.
  const rate = 0.0345
  admin.injectFault({
    scope: defaultIds.contosoOrgId,
    kind: '429',
    rate,
    retryAfterSeconds: 0.05,
    path: '/accounts(',
  })
  admin.injectFault({ scope: defaultIds.contosoOrgId, kind: 'status', status: 503, rate, path: '/accounts(' })
  admin.injectFault({ scope: defaultIds.contosoOrgId, kind: 'drop', rate, path: '/accounts(' })
  const warnings: string[] = []
  const client = world.appClient(world.contosoUrl, defaultIds.contosoTenantId, {
    concurrency: 48,
    retry: { baseDelayMs: 5, maxDelayMs: 100, maxAttempts: 12 },
    logger: { warn: (m, f) => warnings.push(`${m} ${String(f.status ?? f.reason ?? '')}`) },
  })
  const total = 10_000
  const keys = Array.from({ length: total }, (_, i) => `FAULT-${String(i).padStart(5, '0')}`)
  let next = 0
  const ids = new Set<string>()
  // 48 workers, each doing one upsert at a time; the client's limiter and pause gate do the rest.
  await Promise.all(
    Array.from({ length: 48 }, async () => {
      while (next < total) {
        const key = keys[next++] as string
        const { row } = await client.upsert<{ accountid: string }>(
          'accounts',
          { accountnumber: key },
          { name: `Fault ${key}` },
          { returnRepresentation: true, select: ['accountid'] },
        )
        ids.add(row.accountid)
      }
    }),
  )
  const fired = admin.listFaults().map((f) => ({ kind: f.kind, fired: f.fired }))
  admin.clearFaults()
  const faults = fired.reduce((n, f) => n + f.fired, 0)
  expect(faults).toBeGreaterThan(total * 0.08) // the faults really happened
  expect(warnings.some((w) => w.includes('throttled'))).toBe(true)
  expect(warnings.some((w) => w.includes('503'))).toBe(true)
  expect(warnings.some((w) => w.includes('NETWORK'))).toBe(true)

  const seen = new Map<string, number>()
  for await (const row of client.queryAll<{ accountnumber: string }>('accounts', {
    select: ['accountnumber'],
    filter: odata`startswith(accountnumber, ${'FAULT-'})`,
  })) {
    seen.set(row.accountnumber, (seen.get(row.accountnumber) ?? 0) + 1)
  }
  expect(seen.size).toBe(total) // none lost
  expect([...seen.values()].every((n) => n === 1)).toBe(true) // none duplicated
  expect(ids.size).toBe(total)
}, 120_000)

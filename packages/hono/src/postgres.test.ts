import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase } from '../test/postgres.ts'
import type { TenantRegistry } from './onboarding/types.ts'
import { openPostgresTenantRegistry, type PostgresTenantRegistry } from './postgres.ts'

const run = promisify(execFile)
let db: { url: string; drop: () => Promise<void> }
const opened: PostgresTenantRegistry[] = []
const tid = '11111111-2222-4333-8444-555555555555'
const ada = { objectId: '99999999-8888-4777-8666-555555555555', name: 'Ada Admin' }
const bob = { objectId: '99999999-8888-4777-8666-000000000001', name: 'Bob Admin' }

beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => {
  await Promise.all(opened.map((o) => o.registry.close()))
  await db?.drop()
})

/** Another app instance: its own pool on the same database. */
async function instance(): Promise<TenantRegistry> {
  const o = await openPostgresTenantRegistry({ connectionString: db.url, cacheTtlMs: 0, max: 4 })
  opened.push(o)
  return o.registry
}

describe('PostgreSQL tenant registry (node-postgres)', () => {
  it('applies each migration once when three processes start at once (advisory lock)', async () => {
    const child = fileURLToPath(new URL('../test/migrate-child.ts', import.meta.url))
    const outs = await Promise.all(
      [1, 2, 3].map(() =>
        run(process.execPath, ['--conditions=@dataverse-s2s/source', '--import', 'tsx', child], {
          env: { ...process.env, DATABASE_URL: db.url },
          timeout: 60_000,
        }),
      ),
    )
    for (const o of outs) expect(JSON.parse(o.stdout)).toEqual({ ok: true, versions: [1, 2, 3] })
    const first = await instance()
    expect(first).toBeDefined()
    const { pool } = opened[0] as PostgresTenantRegistry
    const rows = await pool.query<{ version: number }>(
      'SELECT version FROM dvs2s_migrations ORDER BY version',
    )
    expect(rows.rows.map((r) => r.version)).toEqual([1, 2, 3])
  }, 90_000)

  it('lets one instance finish what another started, with one event log', async () => {
    const [one, two, three] = [await instance(), await instance(), await instance()]
    expect(await one.connect({ tenantId: tid, orgUrl: 'https://a.crm.dynamics.com' }, ada)).toMatchObject({
      status: 'consented',
    })
    expect(await two.connect({ tenantId: tid, orgUrl: 'https://evil.crm.dynamics.com' }, bob)).toBeUndefined()
    expect((await two.markProvisioned(tid, bob))?.status).toBe('provisioned')
    expect((await three.recordCheck(tid, { ok: true, detail: 'WhoAmI ok' }, bob))?.status).toBe('verified')
    expect((await one.get(tid))?.status).toBe('verified')
    expect((await three.events(tid)).map((e) => [e.action, e.actorName])).toEqual([
      ['verified', 'Bob Admin'],
      ['provisioned', 'Bob Admin'],
      ['connected', 'Ada Admin'],
    ])
  })

  it('lets exactly one of three instances win a conflicting change', async () => {
    const [one, two, three] = [await instance(), await instance(), await instance()]
    const other = '22222222-2222-4333-8444-555555555555'
    await one.connect({ tenantId: other, orgUrl: 'https://x.crm.dynamics.com' }, ada)
    const race = await Promise.all([
      one.offboard(other, ada),
      two.offboard(other, bob),
      three.offboard(other, ada),
    ])
    expect(race.filter(Boolean)).toHaveLength(1)
    expect((await two.events(other)).filter((e) => e.action === 'offboarded')).toHaveLength(1)
  })

  it('keeps an admin-consent state single-use across instances', async () => {
    const [one, two] = [await instance(), await instance()]
    const expiresAt = Date.now() + 600_000
    const results = await Promise.all([
      one.consumeConsentState('state-1', expiresAt),
      two.consumeConsentState('state-1', expiresAt),
    ])
    expect(results.sort()).toEqual([false, true])
    expect(await one.consumeConsentState('state-1', expiresAt)).toBe(false)
    expect(await two.consumeConsentState('state-2', expiresAt)).toBe(true)
  })

  it('says clearly when the server cannot be reached', async () => {
    await expect(
      openPostgresTenantRegistry({ connectionString: 'postgres://postgres@127.0.0.1:1/none' }),
    ).rejects.toThrow(/ECONNREFUSED/)
  })
})

describe('an idle pooled connection that the server ends', () => {
  it('is reported to onIdleError, does not end the process, and the next query reconnects', async () => {
    const seen: string[] = []
    const o = await openPostgresTenantRegistry({
      connectionString: db.url,
      max: 2,
      onIdleError: (e) => seen.push((e as Error & { code?: string }).code ?? e.message),
    })
    opened.push(o)
    await o.registry.get(tid) // leaves an idle connection in the pool
    const pg = (await import('pg')).default
    const admin = new pg.Client({ connectionString: db.url })
    await admin.connect()
    await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    )
    await admin.end()
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
    expect(seen).toContain('57P01')
    expect(await o.registry.list()).toBeInstanceOf(Array)
  })
})

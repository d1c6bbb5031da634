import { randomBytes, randomUUID } from 'node:crypto'
import { startEmulator } from '@dataverse-s2s/emulator'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startInstance } from '../snippets/scaling-out.ts'
import { type Setup, setupFrom } from '../snippets/setup.ts'

const ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const database = `dvs2s_docs_${randomBytes(6).toString('hex')}`
let setup: Setup
let databaseUrl: string

async function admin(sql: string) {
  const c = new pg.Client({ connectionString: ADMIN_URL })
  try {
    await c.connect()
  } catch (cause) {
    throw new Error(
      `The scaling-out snippets need PostgreSQL at ${new URL(ADMIN_URL).host}: start it (node scripts/ensure-services.mjs).`,
      { cause },
    )
  }
  try {
    await c.query(sql)
  } finally {
    await c.end()
  }
}

beforeAll(async () => {
  await admin(`CREATE DATABASE ${database}`)
  const url = new URL(ADMIN_URL)
  url.pathname = `/${database}`
  databaseUrl = url.href
  setup = setupFrom(await startEmulator({ port: 0 }))
})
afterAll(async () => {
  await setup?.emulator.stop()
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
})

describe('scaling-out snippets', () => {
  it('three instances share one token request, one registry and one throttle budget', async () => {
    const env = {
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      DATABASE_URL: databaseUrl,
      TOKEN_CACHE_KEYS: `docs:${randomBytes(32).toString('base64')}`,
      PREFIX: `test:${randomUUID()}:`,
    }
    const instances = await Promise.all([1, 2, 3].map(() => startInstance(setup, env)))
    try {
      setup.emulator.admin.resetCounters()
      const { tenantId, orgUrl } = setup.contoso
      const answers = await Promise.all(
        instances.flatMap((i) => [
          i.clientFor(tenantId, orgUrl).whoAmI(),
          i.clientFor(tenantId, orgUrl).whoAmI(),
        ]),
      )
      expect(new Set(answers.map((a) => a.userId)).size).toBe(1)
      expect(setup.emulator.admin.counters().totals.tokenRequests).toBe(1)
      const [one, two] = instances as [(typeof instances)[0], (typeof instances)[0]]
      const ada = { objectId: randomUUID(), name: 'Ada Admin' }
      await one.registry.connect({ tenantId, orgUrl }, ada)
      expect((await two.registry.markProvisioned(tenantId, ada))?.status).toBe('provisioned')
    } finally {
      await Promise.all(instances.map((i) => i.stop()))
    }
  })
})

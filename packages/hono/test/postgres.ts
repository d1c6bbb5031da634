import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** The server the tests use: `DATABASE_URL`'s host, or PostgreSQL on 127.0.0.1:5432 with trust auth. */
export const ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** Creates a database of its own for a test run (so parallel runs never meet); fails loudly without a server. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `dvs2s_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  try {
    await admin.connect()
  } catch (cause) {
    throw new Error(
      `These tests need PostgreSQL at ${new URL(ADMIN_URL).host} and could not reach it. Start it (as root, node scripts/ensure-services.mjs installs and starts it) or set TEST_POSTGRES_ADMIN_URL.`,
      { cause },
    )
  }
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  return {
    url: url.href,
    drop: async () => {
      const c = new pg.Client({ connectionString: ADMIN_URL })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    },
  }
}

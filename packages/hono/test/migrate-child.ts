// One app instance starting up: opens (and migrates) the registry, prints the versions it applied.
import { openPostgresTenantRegistry } from '../src/postgres.ts'

const { registry, pool } = await openPostgresTenantRegistry({
  connectionString: process.env.DATABASE_URL as string,
})
const applied = (
  await pool.query<{ version: number }>('SELECT version FROM dvs2s_migrations ORDER BY version')
).rows
process.stdout.write(`${JSON.stringify({ ok: true, versions: applied.map((r) => r.version) })}\n`)
await registry.close()

import { mkdir } from 'node:fs/promises'
import { PGlite } from '@electric-sql/pglite'
import { createSqlRegistry, migrate } from './sql-registry.ts'
import type { TenantRegistry } from './types.ts'

/**
 * Opens the embedded registry: PGlite (PostgreSQL in WASM) kept in `dataDir`, or in memory without one, migrated to
 * the latest schema.
 */
export async function openPgliteRegistry(dataDir?: string): Promise<TenantRegistry> {
  if (dataDir) await mkdir(dataDir, { recursive: true })
  const db = dataDir ? new PGlite(dataDir) : new PGlite()
  await db.waitReady
  await migrate(db)
  return createSqlRegistry(db)
}

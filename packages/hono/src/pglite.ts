import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { migrateTenantRegistry } from './onboarding/migrations.ts'
import { createSqlTenantRegistry, type SqlTenantRegistryOptions } from './onboarding/sql-registry.ts'
import type { TenantRegistry } from './onboarding/types.ts'

/** Options of {@link openPgliteTenantRegistry}. */
export interface PgliteTenantRegistryOptions extends Omit<SqlTenantRegistryOptions, 'close'> {
  /** Folder of the database; without it the database lives in memory (tests). */
  dataDir?: string
  /**
   * For an in-memory database: a dump of an initialised empty database, written on first use and loaded after.
   * Initialising PostgreSQL takes seconds, loading a dump a fraction of that, which keeps test suites fast.
   */
  template?: string
}

/** An opened registry and the PGlite database under it (for your own tables, or to inspect in tests). */
export interface PgliteTenantRegistry {
  registry: TenantRegistry
  db: PGlite
}

/**
 * Opens the embedded tenant registry: PostgreSQL in WebAssembly (PGlite, no server), kept in `dataDir`, migrated to
 * the latest schema. For several instances, use a PostgreSQL server with {@link createSqlTenantRegistry} instead:
 * the same migrations and SQL.
 * @param options - see {@link PgliteTenantRegistryOptions}
 * @example
 * import { openPgliteTenantRegistry } from '@dataverse-s2s/hono/pglite'
 * const { registry } = await openPgliteTenantRegistry({ dataDir: '.data/registry' })
 */
export async function openPgliteTenantRegistry(
  options: PgliteTenantRegistryOptions = {},
): Promise<PgliteTenantRegistry> {
  const db = await openPglite(options)
  await migrateTenantRegistry(db)
  const { dataDir: _d, template: _t, ...rest } = options
  return { registry: createSqlTenantRegistry(db, { ...rest, close: () => db.close() }), db }
}

async function openPglite(options: { dataDir?: string; template?: string }): Promise<PGlite> {
  if (options.dataDir) {
    await mkdir(options.dataDir, { recursive: true })
    const db = new PGlite(options.dataDir)
    await db.waitReady
    return db
  }
  if (options.template && existsSync(options.template)) {
    const db = new PGlite({ loadDataDir: new Blob([await readFile(options.template)]) })
    await db.waitReady
    return db
  }
  const db = new PGlite()
  await db.waitReady
  if (options.template) {
    const dump = Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer())
    await mkdir(dirname(options.template), { recursive: true })
    const tmp = `${options.template}.${process.pid}.tmp`
    await writeFile(tmp, dump)
    await rename(tmp, options.template)
  }
  return db
}

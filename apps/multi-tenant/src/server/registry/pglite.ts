import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { createSqlRegistry, migrate } from './sql-registry.ts'
import type { TenantRegistry } from './types.ts'

/**
 * Opens a PGlite database: kept in `dataDir`, or in memory without one. An in-memory database can start from a
 * `template` (a dump of an initialised database, written on first use): initialising PostgreSQL takes seconds, loading
 * a dump a fraction of that, which keeps test suites fast.
 */
export async function openPglite(options: { dataDir?: string; template?: string } = {}): Promise<PGlite> {
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

/** Opens the embedded registry on PGlite (see {@link openPglite}), migrated to the latest schema. */
export async function openPgliteRegistry(
  options: { dataDir?: string; template?: string } = {},
): Promise<TenantRegistry> {
  const db = await openPglite(options)
  await migrate(db)
  return createSqlRegistry(db)
}

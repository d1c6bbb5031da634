import pg from 'pg'
import { migrateTenantRegistry } from './onboarding/migrations.ts'
import { createSqlTenantRegistry, type SqlTenantRegistryOptions } from './onboarding/sql-registry.ts'
import type { SqlExecutor, TenantRegistry } from './onboarding/types.ts'

/** The part of a node-postgres `Pool` the registry uses (your own `new pg.Pool()` fits). */
export interface PostgresPool extends SqlExecutor {
  connect(): Promise<SqlExecutor & { release(error?: Error | boolean): void }>
  end(): Promise<void>
}

/** Options of {@link openPostgresTenantRegistry}. */
export interface PostgresTenantRegistryOptions extends Omit<SqlTenantRegistryOptions, 'close'> {
  /** `postgres://user@host:5432/db`, e.g. `process.env.DATABASE_URL`; or give `pool`. */
  connectionString?: string
  /** A pool of your own (then it is not ended when the registry closes). */
  pool?: PostgresPool
  /** Connections of the pool made from `connectionString` (default 10). */
  max?: number
  /**
   * Called when an idle pooled connection fails (the server restarted, a network cut, an administrator ended it).
   * node-postgres drops that connection and the next query opens a new one; without a listener the error would end
   * the process. Default: ignored (a real outage shows in the next query's error). Receives the error only: no
   * password is in it.
   */
  onIdleError?: (error: Error) => void
}

/** An opened registry and its pool (for your own tables, or to inspect in tests). */
export interface PostgresTenantRegistry {
  registry: TenantRegistry
  pool: PostgresPool
}

/** node-postgres emits an idle connection's failure on the pool: handled, it only costs that connection. */
function watchIdleErrors(pool: pg.Pool, onIdleError: ((error: Error) => void) | undefined): pg.Pool {
  pool.on('error', (error) => onIdleError?.(error))
  return pool
}

// pg_advisory_lock key of the registry's migrations: any 64-bit number no other code of the database uses
const MIGRATION_LOCK = 0x64767332 // 'dvs2'

/**
 * Opens the tenant registry on a PostgreSQL server through a pooled node-postgres connection: the same migrations
 * and SQL as the embedded PGlite registry, so tenants, their event log and used admin-consent states are shared by
 * every instance of the app. Migrations run under a PostgreSQL advisory lock, so instances starting at once apply
 * each one once.
 * @param options - see {@link PostgresTenantRegistryOptions}
 * @throws when the server cannot be reached (node-postgres's error: `ECONNREFUSED`, an authentication failure).
 * @example
 * import { openPostgresTenantRegistry } from '@dataverse-s2s/hono/postgres'
 * const { registry } = await openPostgresTenantRegistry({ connectionString: process.env.DATABASE_URL! })
 */
export async function openPostgresTenantRegistry(
  options: PostgresTenantRegistryOptions,
): Promise<PostgresTenantRegistry> {
  const owned = options.pool === undefined
  const pool: PostgresPool =
    options.pool ??
    (watchIdleErrors(
      new pg.Pool({
        ...(options.connectionString ? { connectionString: options.connectionString } : {}),
        max: options.max ?? 10,
      }),
      options.onIdleError,
    ) as unknown as PostgresPool)
  try {
    await migrateUnderLock(pool)
  } catch (error) {
    if (owned) await pool.end().catch(() => {})
    throw error
  }
  const { connectionString: _c, pool: _p, max: _m, onIdleError: _e, ...rest } = options
  return {
    // Shared by every instance: another instance's change (an offboarding above all) must count at once, so reads
    // are not cached unless the caller asks for it.
    registry: createSqlTenantRegistry(pool, {
      cacheTtlMs: 0,
      ...rest,
      ...(owned ? { close: () => pool.end() } : {}),
    }),
    pool,
  }
}

/** Runs the registry's migrations on one connection holding the advisory lock (released with the session). */
async function migrateUnderLock(pool: PostgresPool): Promise<number[]> {
  const client = await pool.connect()
  let broken = false
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    try {
      return await migrateTenantRegistry(client)
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK])
    }
  } catch (error) {
    broken = true
    throw error
  } finally {
    // a connection that failed mid-way is dropped rather than reused, which also ends its session lock
    client.release(broken)
  }
}

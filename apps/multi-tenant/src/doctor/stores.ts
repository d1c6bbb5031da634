import type { CheckResult } from './report.ts'

/** Where a URL points, without its user name or password. */
function hostOf(url: string, defaultPort: number): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || defaultPort}`
  } catch {
    return '(not a URL)'
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/** The error's code or message, never a URL with a password in it. */
function reason(error: unknown, url: string): string {
  const e = error as { code?: unknown; message?: unknown }
  const text = typeof e?.message === 'string' ? e.message : String(error)
  const code = typeof e?.code === 'string' ? e.code : undefined
  return (code && !text.includes(code) ? `${code}: ${text}` : text).split(url).join(hostOf(url, 0))
}

/** Step 7a: `REDIS_URL` answers PING within `timeoutMs` (through `@dataverse-s2s/redis`, as the server connects). */
export async function checkRedis(url: string | undefined, timeoutMs: number): Promise<CheckResult> {
  const step = 'Redis'
  if (!url)
    return {
      step,
      status: 'skip',
      detail: 'REDIS_URL is not set: tokens and throttling stay in this process',
    }
  const where = hostOf(url, 6379)
  const { connectRedis } = await import('@dataverse-s2s/redis')
  let redis: Awaited<ReturnType<typeof connectRedis>> | undefined
  try {
    redis = await withTimeout(connectRedis({ url }), timeoutMs, `Redis at ${where}`)
    const pong = await withTimeout(redis.sendCommand(['PING']), timeoutMs, `Redis at ${where}`)
    if (pong !== 'PONG') throw new Error(`PING answered ${JSON.stringify(pong)}`)
  } catch (error) {
    return {
      step,
      status: 'fail',
      detail: `Redis at ${where} did not answer PING: ${reason(error, url)}`,
      fix: 'start Redis or fix REDIS_URL (redis://[user:password@]host:6379, rediss:// for TLS); unset it to keep tokens in this process',
    }
  } finally {
    await redis?.close().catch(() => {})
  }
  return { step, status: 'ok', detail: `Redis at ${where} answered PING` }
}

/** Step 7b: `DATABASE_URL` answers `SELECT 1` within `timeoutMs`. */
export async function checkDatabase(url: string | undefined, timeoutMs: number): Promise<CheckResult> {
  const step = 'PostgreSQL'
  if (!url)
    return {
      step,
      status: 'skip',
      detail: 'DATABASE_URL is not set: the tenant registry is embedded (PGlite)',
    }
  const where = hostOf(url, 5432)
  const { default: pg } = await import('pg')
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  })
  client.on('error', () => {})
  try {
    await withTimeout(client.connect(), timeoutMs, `PostgreSQL at ${where}`)
    await withTimeout(client.query('SELECT 1'), timeoutMs, `PostgreSQL at ${where}`)
  } catch (error) {
    return {
      step,
      status: 'fail',
      detail: `PostgreSQL at ${where} did not answer SELECT 1: ${reason(error, url)}`,
      fix: 'start PostgreSQL or fix DATABASE_URL (postgres://user:password@host:5432/db); unset it for the embedded registry',
    }
  } finally {
    await client.end().catch(() => {})
  }
  return { step, status: 'ok', detail: `PostgreSQL at ${where} answered SELECT 1` }
}

import { randomBytes, randomUUID } from 'node:crypto'
import { connectRedis, type RedisConnection } from '../src/index.ts'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A connection for a test; fails loudly (never skips) when Redis is not there. */
export async function connectForTest(url = REDIS_URL): Promise<RedisConnection> {
  try {
    return await connectRedis({ url })
  } catch (cause) {
    throw new Error(
      `These tests need Redis at ${url} and could not reach it. Start it (as root, node scripts/ensure-services.mjs installs and starts it) or set REDIS_URL.`,
      { cause },
    )
  }
}

/** A key prefix of its own for each test run, so parallel runs never meet. */
export function uniquePrefix(): string {
  return `test:${randomUUID()}:`
}

export function newKey(): string {
  return randomBytes(32).toString('base64')
}

/** Deletes every key under `prefix`. */
export async function dropPrefix(redis: RedisConnection, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = (await redis.sendCommand([
      'SCAN',
      cursor,
      'MATCH',
      `${prefix}*`,
      'COUNT',
      '1000',
    ])) as [string, string[]]
    cursor = next
    if (keys.length > 0) await redis.sendCommand(['DEL', ...keys])
  } while (cursor !== '0')
}

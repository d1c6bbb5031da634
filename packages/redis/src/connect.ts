import { createClient } from 'redis'
import { RedisAdapterError } from './errors.ts'
import type { RedisCommands } from './redis-commands.ts'

/** Options of {@link connectRedis}. */
export interface ConnectRedisOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`, e.g. `process.env.REDIS_URL`. */
  url: string
  /** Receives one warning when the connection drops and one when it is back; never the URL or a password. */
  logger?: { warn?(message: string, fields: Record<string, unknown>): void }
  /** Longest wait between reconnection attempts (default 2,000 ms). */
  maxReconnectDelayMs?: number
}

/** A connection from {@link connectRedis}: what the adapters need, and a way to end it. */
export interface RedisConnection extends RedisCommands {
  /** `true` while connected (commands fail at once otherwise). */
  readonly isReady: boolean
  /** Sends the pending replies, then closes. */
  close(): Promise<void>
}

/**
 * Connects a node-redis client set up for shared state: commands fail at once while disconnected (no offline
 * queue, so callers fall back instead of waiting), reconnection with capped back-off, errors logged once per outage.
 * @throws {RedisAdapterError} `CONFIG` when the URL is not a redis: or rediss: URL.
 * @example
 * const redis = await connectRedis({ url: process.env.REDIS_URL as string })
 */
export async function connectRedis(options: ConnectRedisOptions): Promise<RedisConnection> {
  let protocol: string
  try {
    protocol = new URL(options.url).protocol
  } catch (cause) {
    throw new RedisAdapterError('CONFIG', 'The Redis URL must look like redis://host:6379.', { cause })
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new RedisAdapterError('CONFIG', 'The Redis URL must start with redis:// or rediss://.')
  }
  const maxDelay = options.maxReconnectDelayMs ?? 2_000
  const client = createClient({
    url: options.url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2_000,
      reconnectStrategy: (retries: number) => Math.min(maxDelay, 50 * 2 ** Math.min(retries, 10)),
    },
  })
  let ready = false
  let down = false
  client.on('error', (error: unknown) => {
    if (!ready || down) return
    down = true
    options.logger?.warn?.('redis: connection lost; retrying in the background', {
      error: (error as { code?: string }).code ?? (error instanceof Error ? error.name : 'unknown'),
    })
  })
  client.on('ready', () => {
    ready = true
    if (!down) return
    down = false
    options.logger?.warn?.('redis: connection back', {})
  })
  // the first connection must succeed: a wrong URL or a stopped server is a start-up error, not a silent retry loop
  let first: ((error: unknown) => void) | undefined
  const failed = new Promise<never>((_, reject) => {
    first = reject
  })
  const onFirstError = (error: unknown) => first?.(error)
  client.on('error', onFirstError)
  try {
    await Promise.race([client.connect(), failed])
  } catch (cause) {
    client.destroy()
    const url = new URL(options.url)
    throw new RedisAdapterError(
      'UNAVAILABLE',
      `Could not connect to Redis at ${url.hostname}:${url.port || 6379} (${(cause as { code?: string }).code ?? 'error'}); start it or fix REDIS_URL.`,
      { cause },
    )
  } finally {
    client.off('error', onFirstError)
  }
  return {
    get isReady() {
      return client.isReady
    },
    sendCommand: (args) => client.sendCommand(args),
    close: () => client.close(),
  }
}

import { createHash } from 'node:crypto'

/**
 * The one method this package needs from a Redis client: node-redis's `sendCommand` (a client from
 * {@link connectRedis}, or your own `createClient()` of `redis`).
 */
export interface RedisCommands {
  sendCommand(args: string[]): Promise<unknown>
}

const shas = new Map<string, string>()

/** @internal Runs a Lua script by its SHA1, loading it when the server does not know it (first use, a restart). */
export async function runScript(
  redis: RedisCommands,
  script: string,
  keys: string[],
  args: string[],
): Promise<unknown> {
  let sha = shas.get(script)
  if (sha === undefined) {
    sha = createHash('sha1').update(script).digest('hex')
    shas.set(script, sha)
  }
  try {
    return await redis.sendCommand(['EVALSHA', sha, String(keys.length), ...keys, ...args])
  } catch (error) {
    if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error
    return redis.sendCommand(['EVAL', script, String(keys.length), ...keys, ...args])
  }
}

/** @internal Redis's own clock in epoch ms, the same for every instance (Lua's `TIME`). */
export const NOW_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { RedisAdapterError } from './errors.ts'

/** AES-256-GCM keys by id: new values are sealed with `current`, values sealed with any listed key can be read. */
export interface KeyRing {
  current: string
  /** Key id → 32-byte key (a `Uint8Array`, or its base64 text). */
  keys: Readonly<Record<string, string | Uint8Array>>
}

/**
 * Parses a key ring from configuration text: `id:base64key` pairs separated by commas, the first being current,
 * e.g. `TOKEN_CACHE_KEYS="2025-06:…,2025-01:…"`. Make a key with `openssl rand -base64 32`.
 * @throws {RedisAdapterError} `CONFIG` when the text is empty, an id repeats, or a key is not 32 bytes.
 * @example
 * // TOKEN_CACHE_KEYS="2026-06:<base64 of 32 bytes>,2026-01:<base64 of 32 bytes>": new tokens are sealed with 2026-06
 * const keyRing = parseKeyRing(process.env.TOKEN_CACHE_KEYS!)
 * const store = createRedisTokenStore({ redis, keyRing })
 */
export function parseKeyRing(text: string): KeyRing {
  const keys: Record<string, string> = {}
  let current: string | undefined
  for (const part of text.split(',')) {
    const item = part.trim()
    if (item === '') continue
    const colon = item.indexOf(':')
    if (colon <= 0) throw new RedisAdapterError('CONFIG', 'Each key ring entry must look like id:base64key.')
    const id = item.slice(0, colon)
    if (id in keys) throw new RedisAdapterError('CONFIG', `Key id '${id}' appears twice in the key ring.`)
    keys[id] = item.slice(colon + 1)
    current ??= id
  }
  if (current === undefined)
    throw new RedisAdapterError('CONFIG', 'The key ring is empty: give at least one id:base64key.')
  const ring = { current, keys }
  resolveKeys(ring)
  return ring
}

const ID = /^[A-Za-z0-9_.-]{1,64}$/

/** @internal Validates a key ring and decodes its keys. */
export function resolveKeys(ring: KeyRing): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  for (const [id, value] of Object.entries(ring.keys)) {
    if (!ID.test(id))
      throw new RedisAdapterError(
        'CONFIG',
        `Key id '${id.slice(0, 64)}' must be 1-64 letters, digits, '_', '.' or '-'.`,
      )
    const key = typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value)
    if (key.length !== 32) {
      throw new RedisAdapterError(
        'CONFIG',
        `Key '${id}' must be 32 bytes (AES-256); make one with openssl rand -base64 32.`,
      )
    }
    out.set(id, key)
  }
  if (!out.has(ring.current))
    throw new RedisAdapterError('CONFIG', `The current key id '${ring.current}' is not in the key ring.`)
  return out
}

/** @internal Seals `plain` under the current key, bound to `context` (the Redis key) as associated data. */
export function seal(keys: Map<string, Buffer>, current: string, plain: string, context: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', keys.get(current) as Buffer, iv)
  cipher.setAAD(Buffer.from(context))
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()])
  return `v1.${current}.${iv.toString('base64url')}.${body.toString('base64url')}`
}

/**
 * @internal Opens a sealed value.
 * @throws {RedisAdapterError} `DECRYPT` for an unknown key id, a wrong key, a value moved from another key, or tampering.
 */
export function open(keys: Map<string, Buffer>, sealed: string, context: string): string {
  const [version, id, iv, body] = sealed.split('.')
  if (version !== 'v1' || id === undefined || iv === undefined || body === undefined) {
    throw new RedisAdapterError(
      'DECRYPT',
      'A cached token has an unknown format; it is ignored and will be replaced.',
    )
  }
  const key = keys.get(id)
  if (!key) {
    throw new RedisAdapterError(
      'DECRYPT',
      `A cached token is sealed with key id '${id}', which is not in this instance's key ring; add it to read such tokens.`,
    )
  }
  const data = Buffer.from(body, 'base64url')
  if (data.length < 17)
    throw new RedisAdapterError('DECRYPT', 'A cached token is truncated; it is ignored and will be replaced.')
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
    decipher.setAAD(Buffer.from(context))
    decipher.setAuthTag(data.subarray(data.length - 16))
    return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString(
      'utf8',
    )
  } catch (cause) {
    throw new RedisAdapterError(
      'DECRYPT',
      `A cached token failed authentication under key id '${id}' (wrong key, or altered); it is ignored and will be replaced.`,
      { cause },
    )
  }
}

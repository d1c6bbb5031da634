import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto'

/** The signed-in user, taken from a verified ID token. */
export interface SessionUser {
  objectId: string
  tenantId: string
  name: string
  username: string
}

/** What the server keeps for one browser session. The cookie only carries its id. */
export interface SessionData {
  id: string
  csrfToken: string
  createdAt: number
  lastSeenAt: number
  user?: SessionUser
  environment?: string
  actAsUser?: boolean
}

/** Server-side storage for sessions and sign-in flows; swap the in-memory one for Redis or a database. */
export interface SessionStore<T> {
  get(key: string): Promise<T | undefined>
  set(key: string, value: T, ttlMs: number): Promise<void>
  delete(key: string): Promise<void>
  /** Reads and deletes in one step, so a value can be consumed only once. */
  take(key: string): Promise<T | undefined>
}

export function createMemoryStore<T>(
  options: { maxEntries?: number; now?: () => number } = {},
): SessionStore<T> {
  const maxEntries = options.maxEntries ?? 10_000
  const now = options.now ?? Date.now
  const entries = new Map<string, { value: T; expiresAt: number }>()
  const live = (key: string) => {
    const entry = entries.get(key)
    if (!entry) return undefined
    if (entry.expiresAt <= now()) {
      entries.delete(key)
      return undefined
    }
    return entry
  }
  return {
    async get(key) {
      return live(key)?.value
    },
    async set(key, value, ttlMs) {
      entries.delete(key)
      entries.set(key, { value, expiresAt: now() + ttlMs })
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next().value
        if (oldest === undefined) break
        entries.delete(oldest)
      }
    },
    async delete(key) {
      entries.delete(key)
    },
    async take(key) {
      const entry = live(key)
      entries.delete(key)
      return entry?.value
    },
  }
}

export type CookieRejection = 'missing' | 'malformed' | 'bad-signature' | 'expired' | 'unknown-session'

export interface SignedValue {
  id: string
  expiresAt: number
}

/**
 * Signs and verifies cookie values of the form `<id>.<expires-at-seconds>.<hmac>`. The HMAC covers the cookie
 * name too, so a value cannot be moved from one cookie to another. The first secret signs; every secret
 * verifies, so secrets can be rotated without signing everybody out.
 */
export function createCookieSigner(secrets: readonly string[]) {
  if (secrets.length === 0 || secrets.some((s) => Buffer.byteLength(s) < 32)) {
    throw new Error(
      'SESSION_SECRET must hold at least one secret of 32 characters or more (comma-separated).',
    )
  }
  const mac = (secret: string, payload: string) => createHmac('sha256', secret).update(payload).digest()
  return {
    sign(name: string, value: SignedValue): string {
      const body = `${value.id}.${Math.floor(value.expiresAt / 1000)}`
      return `${body}.${mac(secrets[0]!, `${name}|${body}`).toString('base64url')}`
    },
    verify(
      name: string,
      raw: string | undefined,
      now: number,
    ): { ok: true; value: SignedValue } | { ok: false; reason: CookieRejection } {
      if (!raw) return { ok: false, reason: 'missing' }
      const parts = raw.split('.')
      if (parts.length !== 3) return { ok: false, reason: 'malformed' }
      const [id, exp, sig] = parts as [string, string, string]
      if (!/^[A-Za-z0-9_-]{22,64}$/.test(id) || !/^\d{1,12}$/.test(exp) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) {
        return { ok: false, reason: 'malformed' }
      }
      // Compared as text, not as decoded bytes: Node's base64url decoder ignores the spare bits of the last
      // character, so several spellings of one signature would otherwise all verify.
      const good = secrets.some((secret) =>
        safeEqual(mac(secret, `${name}|${id}.${exp}`).toString('base64url'), sig),
      )
      if (!good) return { ok: false, reason: 'bad-signature' }
      const expiresAt = Number(exp) * 1000
      if (expiresAt <= now) return { ok: false, reason: 'expired' }
      return { ok: true, value: { id, expiresAt } }
    },
  }
}

/**
 * Seals a small JSON value into a cookie: AES-256-GCM under a key derived (HKDF-SHA-256) from each session
 * secret, with the cookie name and the expiry as additional data, so the browser can neither read nor change it
 * nor move it to another cookie. The first secret seals; every secret opens (rotation). Nothing is kept on the
 * server, so there is nothing for other clients to fill up or evict.
 */
export function createCookieSealer(secrets: readonly string[]) {
  createCookieSigner(secrets) // same rules for the secrets
  const keys = secrets.map((secret) =>
    Buffer.from(hkdfSync('sha256', secret, '', 'single-tenant sealed cookie v1', 32)),
  )
  const aad = (name: string, exp: number) => Buffer.from(`${name}|${exp}`)
  return {
    seal(name: string, value: unknown, expiresAt: number): string {
      const exp = Math.floor(expiresAt / 1000)
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', keys[0]!, iv)
      cipher.setAAD(aad(name, exp))
      const data = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()])
      return `${exp}.${Buffer.concat([iv, data, cipher.getAuthTag()]).toString('base64url')}`
    },
    open(
      name: string,
      raw: string | undefined,
      now: number,
    ): { ok: true; value: unknown } | { ok: false; reason: CookieRejection } {
      if (!raw) return { ok: false, reason: 'missing' }
      const match = /^(\d{1,12})\.([A-Za-z0-9_-]{40,3000})$/.exec(raw)
      if (!match) return { ok: false, reason: 'malformed' }
      const exp = Number(match[1])
      const bytes = Buffer.from(match[2]!, 'base64url')
      for (const key of keys) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12))
          decipher.setAAD(aad(name, exp))
          decipher.setAuthTag(bytes.subarray(bytes.length - 16))
          const text = Buffer.concat([
            decipher.update(bytes.subarray(12, bytes.length - 16)),
            decipher.final(),
          ])
          if (exp * 1000 <= now) return { ok: false, reason: 'expired' }
          return { ok: true, value: JSON.parse(text.toString('utf8')) }
        } catch {}
      }
      return { ok: false, reason: 'bad-signature' }
    },
  }
}

export function randomId(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

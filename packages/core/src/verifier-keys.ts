import { type CryptoKey, importJWK, type JWK } from 'jose'
import { VerificationError } from './errors.ts'
import type { HttpOptions } from './http-options.ts'
import { send } from './internal/http.ts'

/** A published signing key, with the issuer (`{tenantid}` template) the JWKS gives it, if any. */
export interface KeyEntry {
  key: CryptoKey | Uint8Array
  issuer?: string
}

/**
 * The signing keys of a JWKS, fetched on first use, refetched after `maxAgeMs` or on an unknown `kid` (at most once per
 * `cooldownMs`); one fetch at a time, awaited by every caller.
 * @returns the key for a `kid`
 * @throws {VerificationError} `JWKS_UNAVAILABLE` when no key was ever fetched; `UNKNOWN_KEY` for a `kid` not published
 */
export function createKeySource(options: {
  jwksUri: string
  cooldownMs: number
  maxAgeMs: number
  now: () => number
  http: HttpOptions | undefined
}): (kid: string) => Promise<KeyEntry> {
  const { jwksUri, cooldownMs, maxAgeMs, now } = options
  let keys = new Map<string, KeyEntry>()
  let fetchedAt = Number.NEGATIVE_INFINITY
  let fetching: Promise<void> | undefined

  const refresh = (): Promise<void> => {
    fetching ??= (async () => {
      try {
        fetchedAt = now()
        const res = await send(
          jwksUri,
          {
            // Stryker disable next-line StringLiteral: node's http.request sends a GET for an empty method too
            method: 'GET',
            headers: { accept: 'application/json' },
          },
          options.http ?? {},
        )
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`)
        const body = JSON.parse(res.text) as { keys?: (JWK & { issuer?: string })[] }
        const next = new Map<string, KeyEntry>()
        // Stryker disable next-line ArrayDeclaration: a list holding a string is skipped below like an empty one
        for (const jwk of body.keys ?? []) {
          if (!jwk.kid || (jwk.use && jwk.use !== 'sig')) continue
          // Stryker disable next-line ConditionalExpression,LogicalOperator: importJWK refuses (and the catch skips) a key that is not RSA or lacks n or e; this only spares the attempt
          if (jwk.kty !== 'RSA' || !jwk.n || !jwk.e) continue
          try {
            const key = await importJWK({ kty: jwk.kty, n: jwk.n, e: jwk.e }, 'RS256')
            next.set(jwk.kid, { key, ...(jwk.issuer ? { issuer: jwk.issuer } : {}) })
          } catch {
            // skip keys jose cannot import
          }
        }
        keys = next
      } catch (cause) {
        if (keys.size === 0) {
          throw new VerificationError(
            'JWKS_UNAVAILABLE',
            `The signing keys could not be fetched from ${jwksUri}: retry later`,
            {
              cause,
            },
          )
        }
      } finally {
        fetching = undefined
      }
    })()
    return fetching
  }

  return async (kid: string): Promise<KeyEntry> => {
    // A fetch under way (a cold start, an unknown kid) is awaited by everyone: `fetchedAt` is already set, so without
    // this the requests that arrive meanwhile would find no key and be refused while the keys are on their way.
    if (fetching) await fetching
    if (now() - fetchedAt > maxAgeMs) await refresh()
    let entry = keys.get(kid)
    if (!entry && now() - fetchedAt >= cooldownMs) {
      await refresh()
      entry = keys.get(kid)
    }
    if (!entry) {
      throw new VerificationError(
        'UNKNOWN_KEY',
        'The token is signed with a key this issuer does not publish',
      )
    }
    return entry
  }
}

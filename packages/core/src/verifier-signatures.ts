import type { JWTPayload } from 'jose'
import type { KeyEntry } from './verifier-keys.ts'

const REMEMBER_SIGNATURE_MS = 5 * 60_000

/**
 * Tokens whose signature checked out, by SHA-256, least recently used out first. An entry holds only while the key
 * that verified it is still the published key for its `kid` (a JWKS refresh that drops or replaces the key forgets
 * it) and until the earlier of its `exp` and 5 minutes after the check.
 */
export class VerifiedSignatures {
  readonly #entries = new Map<string, { key: KeyEntry; payload: JWTPayload; until: number }>()
  constructor(readonly max: number) {}

  get(digest: string, key: KeyEntry, now: number): JWTPayload | undefined {
    const hit = this.#entries.get(digest)
    if (!hit) return undefined
    this.#entries.delete(digest)
    if (hit.key !== key || now >= hit.until) return undefined
    this.#entries.set(digest, hit)
    return hit.payload
  }

  set(digest: string, key: KeyEntry, payload: JWTPayload, now: number): void {
    // Stryker disable next-line ConditionalExpression: a token without exp is refused by checkTimes on every call, remembered or not
    if (typeof payload.exp !== 'number') return
    const until = Math.min(payload.exp * 1000, now + REMEMBER_SIGNATURE_MS)
    // Stryker disable next-line ConditionalExpression,EqualityOperator: an entry already past its until is never served (get checks now >= until); this only saves the space
    if (until <= now) return
    // frozen: the same claims object is handed to every caller of this token
    this.#entries.set(digest, { key, payload: deepFreeze(payload), until })
    if (this.#entries.size > this.max) this.#entries.delete(this.#entries.keys().next().value as string)
  }
}

function deepFreeze<T>(value: T): T {
  // primitives and null count as frozen
  if (Object.isFrozen(value)) return value
  Object.freeze(value)
  for (const v of Object.values(value as object)) deepFreeze(v)
  return value
}

/** What went wrong in `@dataverse-s2s/redis`. */
export type RedisAdapterErrorCode =
  /** The configuration is unusable: a missing or malformed key ring, a bad URL. */
  | 'CONFIG'
  /** A stored token could not be decrypted: unknown key id, wrong key, or tampered data. */
  | 'DECRYPT'
  /** Redis could not be reached when connecting. */
  | 'UNAVAILABLE'

/**
 * The error of `@dataverse-s2s/redis`; its message never holds a token or a key.
 * @example
 * try {
 *   parseKeyRing(process.env.TOKEN_CACHE_KEYS ?? '')
 * } catch (error) {
 *   if (error instanceof RedisAdapterError && error.code === 'CONFIG') console.error(error.message) // never the key itself
 *   throw error
 * }
 */
export class RedisAdapterError extends Error {
  override name = 'RedisAdapterError'
  constructor(
    readonly code: RedisAdapterErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

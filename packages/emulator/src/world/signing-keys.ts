import { X509Certificate } from 'node:crypto'
import {
  decodeProtectedHeader,
  exportJWK,
  importPKCS8,
  importX509,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose'
import {
  certificateCredential,
  generateSelfSignedCertificate,
  sharedSelfSignedCertificate,
} from '../certificates.ts'
import { EmulatorError } from '../errors.ts'

type Key = Awaited<ReturnType<typeof importPKCS8>>

interface SigningKey {
  kid: string
  certificatePem: string
  privateKeyPem: string
  privateKey: Key
  publicKey: Key
  publicJwk: JWK
}

/** PEM pair of a signing key, as persisted. */
export interface SigningKeyData {
  certificatePem: string
  privateKeyPem: string
}

/** A JSON Web Key as the emulator publishes it (Entra's shape: `kid` = `x5t`, `x5c`, per-key `issuer`). */
export interface PublishedJwk extends JWK {
  kid: string
  x5t: string
  x5c: string[]
  issuer?: string
}

async function loadKey(data: SigningKeyData): Promise<SigningKey> {
  const cred = certificateCredential(data.certificatePem)
  const publicKey = await importX509(data.certificatePem, 'RS256', { extractable: true })
  const privateKey = await importPKCS8(data.privateKeyPem, 'RS256')
  return {
    kid: cred.thumbprintSha1,
    certificatePem: data.certificatePem,
    privateKeyPem: data.privateKeyPem,
    privateKey,
    publicKey,
    publicJwk: await exportJWK(publicKey),
  }
}

/**
 * The token signing keys of the emulated Entra ID: the first key signs, every key verifies (after a rollover the
 * previous key stays published, as Entra keeps old keys in its JWKS for a while).
 */
export interface SigningKeys {
  /** The `kid` of the key that signs new tokens. */
  readonly currentKid: string
  /** Changes on every rollover, so caches of verified tokens know to verify again. */
  readonly generation: number
  /** All published key ids, current first. */
  readonly kids: string[]
  /**
   * Makes a new key current. The old current key stays published (and valid for verification) when
   * `retainPrevious` (default true); otherwise only the new key remains.
   */
  rollover(options?: { retainPrevious?: boolean }): Promise<string>
  /** Signs `claims` with the current key, RS256. `x5t` is added to the header for v1 tokens, as Entra does. */
  signJwt(
    claims: JWTPayload,
    options?: {
      x5t?: boolean
    },
  ): Promise<string>
  /**
   * Verifies the signature (RS256, any published key), `exp` and `nbf` of a token the emulator issued.
   * @throws jose's errors (`code` 'ERR_JWT_EXPIRED', 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', ...) or an
   * `EmulatorError` 'INVALID_ARGUMENT' when the token is not a JWT or names an unknown key.
   */
  verifyJwt(
    token: string,
    options?: {
      clockToleranceSeconds?: number
      /** The time to check `exp` and `nbf` against, in milliseconds (default: now). */
      now?: number
    },
  ): Promise<JWTPayload>
  /** The JWKS document. `issuer` (Entra's per-key issuer template) is added when given. */
  jwks(issuer?: string): {
    keys: PublishedJwk[]
  }
  /** Replaces every key with persisted ones (a reset or a restore). */
  replace(data: SigningKeyData[]): Promise<void>
  /** The keys as PEMs, for persistence. */
  snapshot(): SigningKeyData[]
}

/** The {@link SigningKeys} of one world (persisted as PEMs in its snapshot). */
export class SigningKeyRing implements SigningKeys {
  #keys: SigningKey[]
  #generation = 0

  private constructor(keys: SigningKey[]) {
    this.#keys = keys
  }

  /** Loads persisted keys, or generates one when `data` is empty. */
  static async create(data: SigningKeyData[] = []): Promise<SigningKeyRing> {
    if (data.length === 0)
      return new SigningKeyRing([
        await loadKey(await sharedSelfSignedCertificate('signing-key', 'accounts.localhost')),
      ])
    return new SigningKeyRing(await Promise.all(data.map(loadKey)))
  }

  /** The `kid` of the key that signs new tokens. */
  get currentKid(): string {
    return this.#keys[0]!.kid
  }

  /** Changes on every rollover, so caches of verified tokens know to verify again. */
  get generation(): number {
    return this.#generation
  }

  /** All published key ids, current first. */
  get kids(): string[] {
    return this.#keys.map((k) => k.kid)
  }

  /**
   * Makes a new key current. The old current key stays published (and valid for verification) when
   * `retainPrevious` (default true); otherwise only the new key remains.
   */
  async rollover(options: { retainPrevious?: boolean } = {}): Promise<string> {
    const key = await loadKey(await generateSelfSignedCertificate('accounts.localhost'))
    this.#keys = options.retainPrevious === false ? [key] : [key, ...this.#keys].slice(0, 3)
    this.#generation++
    return key.kid
  }

  /** Signs `claims` with the current key, RS256. `x5t` is added to the header for v1 tokens, as Entra does. */
  async signJwt(claims: JWTPayload, options: { x5t?: boolean } = {}): Promise<string> {
    const key = this.#keys[0]!
    const header = options.x5t
      ? { alg: 'RS256', typ: 'JWT', x5t: key.kid, kid: key.kid }
      : { alg: 'RS256', typ: 'JWT', kid: key.kid }
    return new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey)
  }

  /**
   * Verifies the signature (RS256, any published key), `exp` and `nbf` of a token the emulator issued.
   * @throws jose's errors (`code` 'ERR_JWT_EXPIRED', 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', ...) or an
   * `EmulatorError` 'INVALID_ARGUMENT' when the token is not a JWT or names an unknown key.
   */
  async verifyJwt(
    token: string,
    options: { clockToleranceSeconds?: number; now?: number } = {},
  ): Promise<JWTPayload> {
    let kid: string | undefined
    try {
      kid = decodeProtectedHeader(token).kid
    } catch (cause) {
      throw new EmulatorError('INVALID_ARGUMENT', 'The token is not a JWS compact serialization.', { cause })
    }
    const key = this.#keys.find((k) => k.kid === kid)
    if (!key)
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        'The token was not signed by a published key of the emulator.',
      )
    const { payload } = await jwtVerify(token, key.publicKey, {
      algorithms: ['RS256'],
      clockTolerance: options.clockToleranceSeconds ?? 0,
      ...(options.now === undefined ? {} : { currentDate: new Date(options.now) }),
    })
    return payload
  }

  /** The JWKS document. `issuer` (Entra's per-key issuer template) is added when given. */
  jwks(issuer?: string): { keys: PublishedJwk[] } {
    return {
      keys: this.#keys.map((k) => ({
        kty: 'RSA',
        use: 'sig',
        kid: k.kid,
        x5t: k.kid,
        n: k.publicJwk.n!,
        e: k.publicJwk.e!,
        x5c: [new X509Certificate(k.certificatePem).raw.toString('base64')],
        ...(issuer === undefined ? {} : { issuer }),
      })),
    }
  }

  /** Replaces every key with persisted ones (a reset or a restore). */
  async replace(data: SigningKeyData[]): Promise<void> {
    if (data.length === 0) throw new EmulatorError('STATE', 'At least one signing key is needed.')
    this.#keys = await Promise.all(data.map(loadKey))
  }

  /** The keys as PEMs, for persistence. */
  snapshot(): SigningKeyData[] {
    return this.#keys.map((k) => ({ certificatePem: k.certificatePem, privateKeyPem: k.privateKeyPem }))
  }
}

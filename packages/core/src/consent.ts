import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { type CloudInput, resolveCloud } from './clouds.ts'
import { ConsentError } from './errors.ts'

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Options of {@link buildAdminConsentUrl}. */
export interface AdminConsentUrlOptions {
  clientId: string
  /** A redirect URI registered on the app (Web platform). */
  redirectUri?: string
  /** The signed value from {@link ConsentStateManager.create}; always send one. */
  state?: string
  /** Tenant to consent in: a GUID or domain as a hint, or `organizations` (default) to let the admin's sign-in decide. */
  tenant?: string
  /** `v2` (default, `/{tenant}/v2.0/adminconsent`, needs scopes) or `v1` (`/{tenant}/adminconsent`). */
  version?: 'v1' | 'v2'
  /**
   * v2 scopes. Default: `{resource}/.default` when `resource` is given (consent to every permission the app
   * registration lists, like v1).
   */
  scopes?: readonly string[]
  /** An org URL whose `/.default` scope is requested on v2 when `scopes` is not given. */
  resource?: string
  /** Cloud of the tenant (default `public`). */
  cloud?: CloudInput
}

/**
 * Builds the URL that sends a tenant administrator to Entra ID's admin-consent page. After consent, Entra ID creates
 * the app's service principal in that tenant and redirects to `redirectUri` with `admin_consent`, `tenant` and
 * `state` (or `error`).
 * @throws ConsentError `INVALID_OPTIONS` for a missing client id, `common` on v2, or v2 without scopes
 * @example
 * const url = buildAdminConsentUrl({ clientId, redirectUri, state, resource: 'https://contoso.crm.dynamics.com' })
 */
export function buildAdminConsentUrl(options: AdminConsentUrlOptions): string {
  const cloud = resolveCloud(options.cloud)
  const version = options.version ?? 'v2'
  const tenant = options.tenant ?? (version === 'v2' ? 'organizations' : 'common')
  if (!options.clientId)
    throw new ConsentError('INVALID_OPTIONS', 'buildAdminConsentUrl needs the app clientId')
  if (!/^[A-Za-z0-9.-]+$/.test(tenant)) {
    throw new ConsentError(
      'INVALID_OPTIONS',
      'The tenant must be a GUID, a domain, `organizations` or `common`',
    )
  }
  // entra-docs v2-admin-consent.md: `common` is not for the v2 endpoint; use `organizations` or the tenant.
  if (version === 'v2' && tenant.toLowerCase() === 'common') {
    throw new ConsentError(
      'INVALID_OPTIONS',
      'Use `organizations` or a tenant id with v2 admin consent, not `common`',
    )
  }
  const path = version === 'v2' ? `/${tenant}/v2.0/adminconsent` : `/${tenant}/adminconsent`
  const url = new URL(path, `${cloud.authorityHost}/`)
  url.searchParams.set('client_id', options.clientId)
  if (version === 'v2') {
    const scopes =
      options.scopes ?? (options.resource ? [`${new URL(options.resource).origin}/.default`] : undefined)
    if (!scopes || scopes.length === 0) {
      throw new ConsentError(
        'INVALID_OPTIONS',
        'v2 admin consent needs `scopes` (or `resource`, an org URL, for its /.default scope)',
      )
    }
    url.searchParams.set('scope', scopes.join(' '))
  }
  if (options.redirectUri) url.searchParams.set('redirect_uri', options.redirectUri)
  if (options.state) url.searchParams.set('state', options.state)
  return url.toString()
}

/** Remembers which states were already used, until they expire. Share one across instances (Redis SET NX). */
export interface ConsentStateStore {
  /** Records `id` as used; resolves true the first time, false when it was already used. */
  consume(id: string, expiresAt: number): Promise<boolean> | boolean
}

/**
 * An in-memory {@link ConsentStateStore}; expired ids are dropped as time passes.
 * @example
 * // One process: states are remembered in memory. Several instances share a store (e.g. Redis SET NX) instead.
 * const states = createConsentStateManager({ secret: process.env.STATE_SECRET!, store: createMemoryStateStore() })
 */
export function createMemoryStateStore(): ConsentStateStore {
  const used = new Map<string, number>()
  return {
    consume(id, expiresAt) {
      const now = Date.now()
      // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: when to prune only bounds memory; which ids go is decided by the line below
      if (used.size > 1000) {
        for (const [k, exp] of used) if (exp <= now) used.delete(k)
      }
      if (used.has(id)) return false
      used.set(id, expiresAt)
      return true
    },
  }
}

/** Options of {@link createConsentStateManager}. */
export interface ConsentStateOptions {
  /** HMAC key, at least 32 bytes (e.g. `randomBytes(32)` kept in configuration). */
  secret: string | Uint8Array
  /** How long a state stays valid (default 10 minutes). */
  ttlMs?: number
  /** Where used states are remembered (default in memory: single-use only within one process). */
  store?: ConsentStateStore
  now?: () => number
}

/** What a verified state carried. */
export interface ConsentStateData {
  /** The `returnTo` (or any small string) given to {@link ConsentStateManager.create}. */
  data?: string
  expiresAt: Date
}

/** Issues and verifies consent `state` values. */
export interface ConsentStateManager {
  /** A signed, expiring state bound to `sessionId` (the browser session), usable once. */
  create(sessionId: string, data?: string): string
  /**
   * Verifies and consumes a state.
   * @throws ConsentError `INVALID_STATE`, `STATE_EXPIRED`, `STATE_SESSION_MISMATCH` or `STATE_REUSED`
   */
  verify(state: string, sessionId: string): Promise<ConsentStateData>
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url')

/**
 * Creates a manager of admin-consent `state` values: HMAC-SHA256 signed, expiring, bound to a browser session
 * (only a hash of the session id is inside), and single use.
 * @throws ConsentError `INVALID_OPTIONS` when the secret is shorter than 32 bytes
 * @example
 * const states = createConsentStateManager({ secret: process.env.STATE_SECRET! })
 * const state = states.create(sessionId, '/onboarding/done')
 */
export function createConsentStateManager(options: ConsentStateOptions): ConsentStateManager {
  const key =
    // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: Buffer.from reads a string as UTF-8 and ignores the encoding for bytes, so either branch gives the same key
    typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : Buffer.from(options.secret)
  if (key.length < 32) {
    throw new ConsentError('INVALID_OPTIONS', 'The consent state secret must be at least 32 bytes long')
  }
  const ttl = options.ttlMs ?? 10 * 60_000
  const store = options.store ?? createMemoryStateStore()
  const now = options.now ?? Date.now
  const sign = (payload: string) => createHmac('sha256', key).update(payload).digest()
  const sessionHash = (sessionId: string) =>
    b64(createHash('sha256').update(`dvs2s-session:${sessionId}`).digest())

  return {
    create(sessionId, data) {
      if (!sessionId)
        throw new ConsentError('INVALID_OPTIONS', 'A consent state must be bound to a session id')
      const body = {
        n: b64(randomBytes(16)),
        s: sessionHash(sessionId),
        e: now() + ttl,
        ...(data ? { d: data } : {}),
      }
      const payload = b64(JSON.stringify(body))
      return `${payload}.${b64(sign(payload))}`
    },
    async verify(state, sessionId) {
      const parts = typeof state === 'string' ? state.split('.') : []
      if (parts.length !== 2 || !parts[0] || !parts[1]) {
        throw new ConsentError(
          'INVALID_STATE',
          'The consent state is missing or malformed: start the consent again',
        )
      }
      const [payload, mac] = parts as [string, string]
      // Compared as text: Node's base64url decoder skips stray characters and the spare bits of the last one,
      // so comparing decoded bytes would let many spellings of one state verify.
      const expected = Buffer.from(b64(sign(payload)))
      const given = Buffer.from(mac)
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new ConsentError(
          'INVALID_STATE',
          'The consent state was not issued by this app: start the consent again',
        )
      }
      let body: { n?: unknown; s?: unknown; e?: unknown; d?: unknown }
      try {
        body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
      } catch (cause) {
        throw new ConsentError('INVALID_STATE', 'The consent state is malformed: start the consent again', {
          cause,
        })
      }
      if (typeof body.n !== 'string' || typeof body.s !== 'string' || typeof body.e !== 'number') {
        throw new ConsentError('INVALID_STATE', 'The consent state is malformed: start the consent again')
      }
      if (now() >= body.e) {
        throw new ConsentError(
          'STATE_EXPIRED',
          'The consent took too long and its state expired: start it again',
        )
      }
      const mine = Buffer.from(sessionHash(sessionId ?? ''))
      const theirs = Buffer.from(body.s)
      if (mine.length !== theirs.length || !timingSafeEqual(mine, theirs)) {
        throw new ConsentError(
          'STATE_SESSION_MISMATCH',
          'The consent was started in another browser session: start it again from this browser',
        )
      }
      if (!(await store.consume(body.n, body.e))) {
        throw new ConsentError(
          'STATE_REUSED',
          'This consent response was already used: start the consent again',
        )
      }
      return { expiresAt: new Date(body.e), ...(typeof body.d === 'string' ? { data: body.d } : {}) }
    },
  }
}

/** A successful admin-consent redirect. */
export interface AdminConsentResult {
  /**
   * The tenant Entra ID named in the redirect. It is a hint only (anyone can edit a URL): prove it by getting an
   * app-only token for this tenant (it succeeds only once the service principal exists) or from a signed token.
   */
  tenantId: string
  /** Scopes echoed by the v2 endpoint. */
  scopes: string[]
  /** The data stored in the state, e.g. where to return to. */
  data?: string
}

/**
 * Turns the admin-consent redirect into a result or a typed error, verifying (and consuming) its `state` first.
 * @param redirect - the full redirect URL or its query (`URLSearchParams` or string)
 * @param options - the state manager and the browser session id the consent was started from
 * @throws ConsentError state codes, `CONSENT_DENIED` (`access_denied`/`permission_denied`), `CONSENT_REQUIRED`,
 * `CONSENT_FAILED` (another `error`), or `INVALID_CALLBACK` (no `admin_consent=True` or no tenant GUID)
 * @example
 * app.get('/onboarding/callback', async (c) => {
 *   const { tenantId, data } = await parseAdminConsentRedirect(c.req.url, { states, sessionId })
 *   return c.redirect(data ?? '/')
 * })
 */
export async function parseAdminConsentRedirect(
  redirect: string | URL | URLSearchParams,
  options: { states: ConsentStateManager; sessionId: string },
): Promise<AdminConsentResult> {
  const params =
    redirect instanceof URLSearchParams
      ? redirect
      : redirect instanceof URL
        ? redirect.searchParams
        : redirect.includes('://')
          ? new URL(redirect).searchParams
          : new URLSearchParams(redirect.startsWith('?') ? redirect.slice(1) : redirect)
  const verified = await options.states.verify(params.get('state') ?? '', options.sessionId)
  const error = params.get('error')
  if (error) {
    const description = (params.get('error_description') ?? '').slice(0, 500)
    const code =
      error === 'access_denied' || error === 'permission_denied'
        ? 'CONSENT_DENIED'
        : error === 'consent_required'
          ? 'CONSENT_REQUIRED'
          : 'CONSENT_FAILED'
    const what =
      code === 'CONSENT_DENIED'
        ? 'The administrator declined the consent'
        : code === 'CONSENT_REQUIRED'
          ? 'Consent is still required: the person who signed in may not be an administrator of the tenant'
          : `Entra ID reported "${error}" during admin consent`
    throw new ConsentError(
      code,
      `${what}; ask a tenant administrator (Global or Cloud Application Administrator) to try again`,
      {
        oauthError: error,
        description,
      },
    )
  }
  if ((params.get('admin_consent') ?? '').toLowerCase() !== 'true') {
    throw new ConsentError(
      'INVALID_CALLBACK',
      'The redirect does not say admin_consent=True: the consent did not complete',
    )
  }
  const tenant = params.get('tenant') ?? ''
  if (!GUID.test(tenant)) {
    throw new ConsentError(
      'INVALID_CALLBACK',
      'The redirect does not carry a tenant GUID: the consent did not complete',
    )
  }
  const scope = params.get('scope')
  return {
    tenantId: tenant.toLowerCase(),
    scopes: scope ? scope.split(/\s+/).filter(Boolean) : [],
    ...(verified.data !== undefined ? { data: verified.data } : {}),
  }
}

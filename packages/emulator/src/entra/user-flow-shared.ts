import { randomBytes } from 'node:crypto'
import type { Context } from 'hono'
import type { AppRegistration, User } from '../world/types.ts'
import type { World } from '../world/world.ts'
import { type AadError, aad } from './aad-error.ts'
import type { ReplayCache } from './client-auth.ts'
import type { TenantRef } from './tenant-ref.ts'

// What the interactive pages (user-flows.ts) and the token redemption (user-tokens.ts) share: their state, the
// constants of the flows, redirect URI matching and scope parsing.

/** An issued authorization code (single use, 10 minutes). */
export interface AuthorizationCode {
  clientId: string
  redirectUri: string
  redirectKind: 'web' | 'spa'
  userObjectId: string
  tenantId: string
  scopes: string[]
  resource?: string
  nonce?: string
  codeChallenge?: string
  codeChallengeMethod?: string
  expiresAt: number
  authTime: number
  redeemed: boolean
}

/** A refresh token's grant. */
export interface RefreshGrant {
  clientId: string
  userObjectId: string
  tenantId: string
  spa: boolean
  authTime: number
  expiresAt: number
}

/** State of the user flows. */
export interface UserFlowState {
  codes: Map<string, AuthorizationCode>
  refreshTokens: Map<string, RefreshGrant>
  /** Browser sign-in sessions by cookie value. */
  sessions: Map<string, { userObjectId: string; authTime: number }>
}

export interface UserFlowOptions {
  world: World
  state: UserFlowState & { replay: ReplayCache }
  resolveTenant: (segment: string) => TenantRef | undefined
}

export interface UserFlows {
  redeem(
    version: 'v1' | 'v2',
    grant: 'authorization_code' | 'refresh_token',
    ref: TenantRef,
    form: URLSearchParams,
    c: Context,
  ): Promise<Record<string, unknown>>
  /** Issues the tokens of a signed-in user (the device code grant uses it once the user approved). */
  issue(
    version: 'v1' | 'v2',
    registration: AppRegistration,
    user: User,
    requested: string[],
    v1Resource: string | undefined,
    extra: { authTime: number; spa: boolean; acr: 0 | 1 | 2 },
  ): Promise<Record<string, unknown>>
}

export const SESSION_COOKIE = 'emulator_session'
export const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access'])
export const GRAPH = '00000003-0000-0000-c000-000000000000'
export const CODE_TTL_MS = 10 * 60_000
export const SPA_REFRESH_TTL_MS = 24 * 3600_000
export const REFRESH_TTL_MS = 90 * 24 * 3600_000
export const ACCESS_LIFETIME = 3599

export const token = () => randomBytes(32).toString('base64url')

function isLoopbackHttp(u: URL): boolean {
  return (
    u.protocol === 'http:' &&
    (u.hostname === 'localhost' || u.hostname === '127.0.0.1' || u.hostname === '[::1]')
  )
}

/**
 * Matches a requested redirect URI against registered ones: exact (case-sensitive path), a missing path equal to
 * '/', and — as Entra does for loopback addresses — any port for `http://localhost` / `127.0.0.1`.
 * (learn.microsoft.com "Redirect URI (reply URL) restrictions and limitations".)
 */
export function matchRedirectUri(app: AppRegistration, requested: string): 'web' | 'spa' | undefined {
  let req: URL
  try {
    req = new URL(requested)
  } catch {
    return undefined
  }
  const same =
    (anyLoopbackPort: boolean) =>
    (registered: string): boolean => {
      let reg: URL
      try {
        reg = new URL(registered)
      } catch {
        return false
      }
      const path = (u: URL) => (u.pathname === '' ? '/' : u.pathname) + u.search
      if (reg.protocol !== req.protocol || reg.hostname.toLowerCase() !== req.hostname.toLowerCase())
        return false
      if (path(reg) !== path(req)) return false
      return reg.port === req.port || (anyLoopbackPort && isLoopbackHttp(reg))
    }
  // An exact match (port included) wins; only then is the port of a loopback URI ignored.
  for (const loose of [false, true]) {
    if (app.redirectUris.spa.some(same(loose))) return 'spa'
    if (app.redirectUris.web.some(same(loose))) return 'web'
  }
  return undefined
}

/** Where Entra sends the response: the requested URI, with '/' added when it has no path. */
export function responseTarget(uri: string): URL {
  return new URL(uri)
}

export function clientInfo(user: User): string {
  return Buffer.from(JSON.stringify({ uid: user.objectId, utid: user.tenantId })).toString('base64url')
}

export function paramsOf(c: Context, body: URLSearchParams | undefined): URLSearchParams {
  const q = new URL(c.req.url).searchParams
  if (!body) return q
  const merged = new URLSearchParams(q)
  for (const [k, v] of body) merged.set(k, v)
  return merged
}

export async function formBody(c: Context): Promise<URLSearchParams | undefined> {
  if (c.req.method !== 'POST') return undefined
  const type = c.req.header('content-type') ?? ''
  if (!type.includes('application/x-www-form-urlencoded')) return new URLSearchParams()
  return new URLSearchParams(await c.req.text())
}

// Anyone can start a sign-in (the emulator has no passwords), so what sign-ins leave behind is bounded: past these
// counts the oldest entries go (expired ones first), and a user whose entry went signs in again.
export const MAX_SESSIONS = 10_000
export const MAX_CODES = 10_000
export const MAX_REFRESH_TOKENS = 50_000

/** Splits requested scopes into OIDC scopes and the one resource they name. */
export function parseScopes(
  scopes: string[],
): { oidc: string[]; resource?: string; names: string[] } | AadError {
  const oidc = scopes.filter((s) => OIDC_SCOPES.has(s))
  const byResource = new Map<string, string[]>()
  for (const s of scopes) {
    if (OIDC_SCOPES.has(s)) continue
    const i = s.lastIndexOf('/')
    const [res, name] = i <= 0 ? ['https://graph.microsoft.com', s] : [s.slice(0, i), s.slice(i + 1)]
    byResource.set(res, [...(byResource.get(res) ?? []), name])
  }
  if (byResource.size > 1)
    return aad.invalidGrant(
      28000,
      'Provide value for the input parameter scope, which must contain only one resource; several were requested.',
    )
  const [entry] = byResource
  return entry ? { oidc, resource: entry[0], names: entry[1] } : { oidc, names: [] }
}

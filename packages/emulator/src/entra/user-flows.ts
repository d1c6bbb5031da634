import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Context, Hono } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { AppRegistration, User } from '../world/types.ts'
import type { World } from '../world/world.ts'
import { type AadError, aad, aadErrorBody } from './aad-error.ts'
import { remember } from './bounded.ts'
import {
  assertionAudiences,
  authenticateConfidentialClient,
  presentedCredentials,
  type ReplayCache,
} from './client-auth.ts'
import { consentPage, errorPage, formPostPage, signedOutPage, signInPage } from './pages.ts'
import type { TenantRef } from './tenant-ref.ts'

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

const SESSION_COOKIE = 'emulator_session'
const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access'])
const GRAPH = '00000003-0000-0000-c000-000000000000'
const CODE_TTL_MS = 10 * 60_000
const SPA_REFRESH_TTL_MS = 24 * 3600_000
const REFRESH_TTL_MS = 90 * 24 * 3600_000
const ACCESS_LIFETIME = 3599

const token = () => randomBytes(32).toString('base64url')

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
function responseTarget(uri: string): URL {
  return new URL(uri)
}

function clientInfo(user: User): string {
  return Buffer.from(JSON.stringify({ uid: user.objectId, utid: user.tenantId })).toString('base64url')
}

function paramsOf(c: Context, body: URLSearchParams | undefined): URLSearchParams {
  const q = new URL(c.req.url).searchParams
  if (!body) return q
  const merged = new URLSearchParams(q)
  for (const [k, v] of body) merged.set(k, v)
  return merged
}

async function formBody(c: Context): Promise<URLSearchParams | undefined> {
  if (c.req.method !== 'POST') return undefined
  const type = c.req.header('content-type') ?? ''
  if (!type.includes('application/x-www-form-urlencoded')) return new URLSearchParams()
  return new URLSearchParams(await c.req.text())
}

// Anyone can start a sign-in (the emulator has no passwords), so what sign-ins leave behind is bounded: past these
// counts the oldest entries go (expired ones first), and a user whose entry went signs in again.
const MAX_SESSIONS = 10_000
const MAX_CODES = 10_000
const MAX_REFRESH_TOKENS = 50_000

/** Splits requested scopes into OIDC scopes and the one resource they name. */
function parseScopes(scopes: string[]): { oidc: string[]; resource?: string; names: string[] } | AadError {
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

export function registerUserFlows(app: Hono, options: UserFlowOptions): UserFlows {
  const { world, state, resolveTenant } = options
  const A = () => world.authorityUrl

  const tenantName = (id: string) => world.getTenant(id)?.displayName ?? id

  function sessionUser(c: Context): { user: User; authTime: number } | undefined {
    const id = getCookie(c, SESSION_COOKIE)
    const s = id ? state.sessions.get(id) : undefined
    const user = s ? world.getUser(s.userObjectId) : undefined
    return s && user ? { user, authTime: s.authTime } : undefined
  }

  function startSession(c: Context, user: User): number {
    const id = token()
    const authTime = Math.floor(Date.now() / 1000)
    remember(state.sessions, id, { userObjectId: user.objectId, authTime }, MAX_SESSIONS)
    setCookie(c, SESSION_COOKIE, id, { httpOnly: true, secure: true, sameSite: 'None', path: '/' })
    return authTime
  }

  function renderError(c: Context, err: AadError): Response {
    const body = aadErrorBody(A(), err.error, err.code, err.description, c.req.header('client-request-id'))
    return c.html(errorPage(err.code, err.description, body.trace_id, body.correlation_id), err.status)
  }

  function sendToClient(
    c: Context,
    redirectUri: string,
    mode: string,
    fields: Record<string, string>,
  ): Response {
    if (mode === 'form_post') return c.html(formPostPage(redirectUri, fields))
    const target = responseTarget(redirectUri)
    if (mode === 'fragment') target.hash = new URLSearchParams(fields).toString()
    else for (const [k, v] of Object.entries(fields)) target.searchParams.set(k, v)
    return c.redirect(target.toString(), 302)
  }

  function errorFields(err: AadError, stateParam: string | null, c: Context): Record<string, string> {
    const body = aadErrorBody(
      A(),
      err.error,
      err.code,
      err.description,
      c.req.header('client-request-id'),
      err.suberror,
    )
    return {
      error: err.error,
      error_description: body.error_description,
      error_uri: body.error_uri,
      ...(err.suberror ? { suberror: err.suberror } : {}),
      ...(stateParam !== null ? { state: stateParam } : {}),
    }
  }

  /** Accounts offered on the sign-in page: the tenant's, or everyone's for common/organizations (narrowed by domain_hint). */
  const signInUsers = (ref: TenantRef, domainHint?: string) =>
    [...world.users.values()]
      .filter((u) => ref.kind !== 'tenant' || u.tenantId === ref.tenant.id)
      .filter(
        (u) =>
          !domainHint ||
          u.userPrincipalName.toLowerCase().endsWith(`@${domainHint.toLowerCase()}`) ||
          world.getTenant(domainHint)?.id === u.tenantId,
      )
      .map((u) => ({ ...u, tenantName: tenantName(u.tenantId) }))

  /** Finds the user a sign-in form names, or explains why it cannot be used here. */
  function chosenUser(ref: TenantRef, p: URLSearchParams): User | string {
    const upn = (p.get('login') || p.get('typed') || '').trim()
    if (!upn) return 'Enter a user name, or pick an account.'
    const user = world.findUserByUpn(upn)
    if (!user)
      return "AADSTS50034: The user account does not exist in this directory. Pick one of the accounts below or create one with the emulator's admin API."
    if (ref.kind === 'tenant' && user.tenantId !== ref.tenant.id)
      return `AADSTS50020: User account '${user.userPrincipalName}' does not exist in tenant '${ref.tenant.displayName}' and cannot access the application in that tenant.`
    return user
  }

  /**
   * What the authorize and admin-consent pages both start from: the form or query parameters, the tenant of the
   * path and the app registration of `client_id`; or the error page when one of them is missing or unknown.
   */
  async function interactiveRequest(c: Context) {
    const body = await formBody(c)
    const p = paramsOf(c, body)
    const step = body?.get('__step') ?? ''
    const segment = c.req.param('tenant') ?? ''
    const ref = resolveTenant(segment)
    if (!ref) return renderError(c, aad.unknownTenant(segment))
    const clientId = p.get('client_id')
    if (!clientId) return renderError(c, aad.missingParameter('client_id'))
    const registration = world.getApp(clientId)
    if (!registration)
      return renderError(
        c,
        aad.appNotFound(clientId, ref.kind === 'tenant' ? ref.tenant.displayName : segment),
      )
    return { body, p, step, segment, ref, registration }
  }

  // ---- authorize

  const authorize = (version: 'v1' | 'v2') => async (c: Context) => {
    const request = await interactiveRequest(c)
    if (request instanceof Response) return request
    const { p, step, ref, registration } = request
    const redirectUri =
      p.get('redirect_uri') ?? registration.redirectUris.web[0] ?? registration.redirectUris.spa[0]
    if (!redirectUri) return renderError(c, aad.missingParameter('redirect_uri'))
    const kind = matchRedirectUri(registration, redirectUri)
    if (!kind) return renderError(c, aad.redirectMismatch(redirectUri, registration.appId))
    if (registration.signInAudience === 'AzureADMyOrg') {
      if (ref.kind !== 'tenant')
        return renderError(
          c,
          aad.invalidRequest(
            50194,
            `Application '${registration.appId}'(${registration.displayName}) is not configured as a multi-tenant application. Usage of the /${ref.segment} endpoint is not supported for such applications. Use a tenant-specific endpoint or configure the application to be multi-tenant.`,
          ),
        )
      if (ref.tenant.id !== registration.homeTenantId)
        return renderError(c, aad.appNotFound(registration.appId, ref.tenant.displayName))
    }
    const mode = p.get('response_mode') ?? 'query'
    if (!['query', 'fragment', 'form_post'].includes(mode))
      return renderError(
        c,
        aad.invalidRequest(
          900144,
          `The response_mode '${mode}' is not supported; use query, fragment or form_post.`,
        ),
      )
    const stateParam = p.get('state')
    const fail = (err: AadError) => sendToClient(c, redirectUri, mode, errorFields(err, stateParam, c))

    const responseType = (p.get('response_type') ?? '').split(' ')
    if (!responseType.includes('code'))
      return sendToClient(c, redirectUri, mode, {
        error: 'unsupported_response_type',
        error_description: `AADSTS700054: response_type '${p.get('response_type') ?? ''}' is not enabled for the application; use 'code'.`,
        ...(stateParam !== null ? { state: stateParam } : {}),
      })
    const challenge = p.get('code_challenge') ?? undefined
    const method = p.get('code_challenge_method') ?? (challenge ? 'plain' : undefined)
    if (method !== undefined && method !== 'S256' && method !== 'plain')
      return fail(
        aad.invalidRequest(900144, `The code_challenge_method '${method}' is not supported; use S256.`),
      )
    if (kind === 'spa' && !challenge) return fail(aad.pkceRequired())
    const scopes = version === 'v2' ? (p.get('scope') ?? 'openid').split(' ').filter(Boolean) : ['openid']
    const resource = version === 'v1' ? (p.get('resource') ?? undefined) : undefined
    const prompt = p.get('prompt') ?? ''
    const loginHint = p.get('login_hint') ?? undefined

    // Hidden fields carried through the sign-in and consent pages.
    const carry: Record<string, string> = {}
    for (const [k, v] of p)
      if (!k.startsWith('__') && k !== 'login' && k !== 'typed' && k !== 'consent') carry[k] = v
    const action = new URL(c.req.url).pathname

    const showSignIn = (error?: string) =>
      c.html(
        signInPage({
          action,
          fields: { ...carry, __step: 'signin' },
          users: signInUsers(ref, p.get('domain_hint') ?? undefined),
          appName: registration.displayName,
          ...(loginHint === undefined ? {} : { loginHint }),
          ...(error === undefined ? {} : { error }),
        }),
        error ? 400 : 200,
      )

    let user: User
    let authTime: number
    const session = sessionUser(c)
    if (step === 'signin') {
      const chosen = chosenUser(ref, p)
      if (typeof chosen === 'string') return showSignIn(chosen)
      user = chosen
      authTime = startSession(c, user)
    } else if (step === 'consent') {
      if (!session) return showSignIn()
      user = session.user
      authTime = session.authTime
    } else {
      const usable =
        session &&
        (ref.kind !== 'tenant' || session.user.tenantId === ref.tenant.id) &&
        (!loginHint || loginHint.toLowerCase() === session.user.userPrincipalName.toLowerCase())
      if (prompt === 'none') {
        if (!usable) return fail(aad.loginRequired())
      } else if (!usable || prompt === 'login' || prompt === 'select_account') return showSignIn()
      user = session!.user
      authTime = session!.authTime
    }

    // Consent: the app needs a service principal in the user's tenant.
    const hasSp = world.getServicePrincipal(user.tenantId, registration.appId) !== undefined
    if (step === 'consent') {
      if (p.get('consent') !== 'accept') return fail(aad.declined())
      if (!user.isTenantAdmin) return fail(aad.adminOnly())
      world.grantConsent(user.tenantId, registration.appId)
    } else if (!hasSp || (prompt === 'consent' && user.isTenantAdmin)) {
      if (prompt === 'none' || !user.isTenantAdmin)
        return fail(aad.consentRequiredRedirect(registration.appId, registration.displayName))
      return c.html(
        consentPage({
          action,
          fields: { ...carry, __step: 'consent' },
          appName: registration.displayName,
          publisher: tenantName(registration.homeTenantId),
          user,
          tenantName: tenantName(user.tenantId),
          permissions: describePermissions(scopes, resource),
        }),
      )
    }

    const code = token()
    const nonce = p.get('nonce') ?? undefined
    remember(
      state.codes,
      code,
      {
        clientId: registration.appId,
        redirectUri,
        redirectKind: kind,
        userObjectId: user.objectId,
        tenantId: user.tenantId,
        scopes,
        ...(resource === undefined ? {} : { resource }),
        ...(nonce === undefined ? {} : { nonce }),
        ...(challenge === undefined ? {} : { codeChallenge: challenge }),
        ...(method === undefined ? {} : { codeChallengeMethod: method }),
        expiresAt: Date.now() + CODE_TTL_MS,
        authTime,
        redeemed: false,
      },
      MAX_CODES,
    )
    return sendToClient(c, redirectUri, mode, {
      code,
      ...(p.get('client_info') === '1' ? { client_info: clientInfo(user) } : {}),
      ...(stateParam !== null ? { state: stateParam } : {}),
      session_state: randomUUID(),
    })
  }

  function describePermissions(scopes: string[], resource: string | undefined): string[] {
    const out = ['Sign you in and read your profile']
    if (scopes.includes('offline_access')) out.push('Maintain access to data you have given it access to')
    for (const s of scopes) if (!OIDC_SCOPES.has(s)) out.push(`Access ${s}`)
    if (resource) out.push(`Access ${resource} as you`)
    return out
  }

  app.get('/:tenant/oauth2/v2.0/authorize', authorize('v2'))
  app.post('/:tenant/oauth2/v2.0/authorize', authorize('v2'))
  app.get('/:tenant/oauth2/authorize', authorize('v1'))
  app.post('/:tenant/oauth2/authorize', authorize('v1'))

  // ---- logout

  const logout = async (c: Context) => {
    const body = await formBody(c)
    const p = paramsOf(c, body)
    const id = getCookie(c, SESSION_COOKIE)
    if (id) state.sessions.delete(id)
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true })
    const target = p.get('post_logout_redirect_uri')
    if (target) {
      const clientId = p.get('client_id')
      const candidates = clientId
        ? [world.getApp(clientId)].filter((a) => a !== undefined)
        : [...world.apps.values()]
      if (candidates.some((a) => matchRedirectUri(a, target) !== undefined)) {
        const url = new URL(target)
        const st = p.get('state')
        if (st) url.searchParams.set('state', st)
        return c.redirect(url.toString(), 302)
      }
    }
    return c.html(signedOutPage())
  }
  app.get('/:tenant/oauth2/v2.0/logout', logout)
  app.post('/:tenant/oauth2/v2.0/logout', logout)
  app.get('/:tenant/oauth2/logout', logout)
  app.post('/:tenant/oauth2/logout', logout)

  // ---- admin consent (v1 /{tenant}/adminconsent, v2 /{tenant}/v2.0/adminconsent)

  const adminConsent = (version: 'v1' | 'v2') => async (c: Context) => {
    const request = await interactiveRequest(c)
    if (request instanceof Response) return request
    const { p, step, segment, ref, registration } = request
    const redirectUri = p.get('redirect_uri') ?? registration.redirectUris.web[0]
    if (!redirectUri) return renderError(c, aad.missingParameter('redirect_uri'))
    if (!matchRedirectUri(registration, redirectUri))
      return renderError(c, aad.redirectMismatch(redirectUri, registration.appId))
    const stateParam = p.get('state')
    const scope = p.get('scope')
    const fail = (err: AadError) => sendToClient(c, redirectUri, 'query', errorFields(err, stateParam, c))
    if (version === 'v2' && !scope) return fail(aad.missingParameter('scope'))
    if (
      registration.signInAudience === 'AzureADMyOrg' &&
      (ref.kind !== 'tenant' || ref.tenant.id !== registration.homeTenantId)
    )
      return fail(
        aad.appNotFound(registration.appId, ref.kind === 'tenant' ? ref.tenant.displayName : segment),
      )

    const carry: Record<string, string> = {}
    for (const [k, v] of p)
      if (!k.startsWith('__') && k !== 'login' && k !== 'typed' && k !== 'consent') carry[k] = v
    const action = new URL(c.req.url).pathname
    const showSignIn = (error?: string) =>
      c.html(
        signInPage({
          action,
          fields: { ...carry, __step: 'signin' },
          users: signInUsers(ref).filter((u) => u.isTenantAdmin || error !== undefined),
          appName: `${registration.displayName} (admin consent)`,
          ...(error === undefined ? {} : { error }),
        }),
        error ? 400 : 200,
      )

    let user: User
    const session = sessionUser(c)
    if (step === 'signin') {
      const chosen = chosenUser(ref, p)
      if (typeof chosen === 'string') return showSignIn(chosen)
      user = chosen
      startSession(c, user)
    } else if (step === 'consent' && session) user = session.user
    else if (session && (ref.kind !== 'tenant' || session.user.tenantId === ref.tenant.id))
      user = session.user
    else return showSignIn()

    if (!user.isTenantAdmin) return fail(aad.adminOnly())
    if (step !== 'consent')
      return c.html(
        consentPage({
          action,
          fields: { ...carry, __step: 'consent' },
          appName: registration.displayName,
          publisher: tenantName(registration.homeTenantId),
          user,
          tenantName: tenantName(user.tenantId),
          permissions: scope
            ? scope.split(' ').map((s) => `Access ${s}`)
            : ['The permissions the app requires'],
        }),
      )
    if (p.get('consent') !== 'accept')
      return sendToClient(c, redirectUri, 'query', {
        ...errorFields(aad.declined(), stateParam, c),
        admin_consent: 'False',
      })
    world.grantConsent(user.tenantId, registration.appId)
    return sendToClient(c, redirectUri, 'query', {
      admin_consent: 'True',
      tenant: user.tenantId,
      ...(stateParam !== null ? { state: stateParam } : {}),
      ...(version === 'v2' && scope ? { scope } : {}),
    })
  }
  app.get('/:tenant/adminconsent', adminConsent('v1'))
  app.post('/:tenant/adminconsent', adminConsent('v1'))
  app.get('/:tenant/v2.0/adminconsent', adminConsent('v2'))
  app.post('/:tenant/v2.0/adminconsent', adminConsent('v2'))

  // ---- userinfo (Graph's /oidc/userinfo in real Entra)
  app.get('/oidc/userinfo', async (c) => {
    const auth = c.req.header('authorization') ?? ''
    const bearer = auth.toLowerCase().startsWith('bearer ') ? auth.slice(7).trim() : ''
    try {
      const claims = await world.verifyJwt(bearer)
      const user = typeof claims.oid === 'string' ? world.getUser(claims.oid) : undefined
      if (!user) throw new Error('no user')
      return c.json({
        sub: claims.sub,
        name: user.displayName,
        preferred_username: user.userPrincipalName,
        oid: user.objectId,
        tid: user.tenantId,
      })
    } catch {
      return c.json(
        { error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty or invalid.' } },
        401,
      )
    }
  })

  // ---- token redemption

  async function issueUserTokens(
    version: 'v1' | 'v2',
    registration: AppRegistration,
    user: User,
    requested: string[],
    v1Resource: string | undefined,
    extra: { nonce?: string; authTime: number; spa: boolean; acr: 0 | 1 | 2 },
  ): Promise<Record<string, unknown>> {
    if (!world.getServicePrincipal(user.tenantId, registration.appId))
      throw aad.consentRequired(registration.appId, registration.displayName)
    const parsed =
      version === 'v1'
        ? { oidc: ['openid', 'offline_access'], resource: v1Resource, names: ['user_impersonation'] }
        : parseScopes(requested)
    if ('status' in parsed) throw parsed
    const wantsRefresh = version === 'v1' || parsed.oidc.includes('offline_access')
    const wantsId = version === 'v1' || parsed.oidc.includes('openid')
    let accessToken: string
    let grantedScopes: string[]
    if (
      parsed.resource === undefined ||
      parsed.resource === 'https://graph.microsoft.com' ||
      parsed.resource === GRAPH
    ) {
      // Entra issues a Microsoft Graph token for OIDC-only requests; the emulator has no Graph, the token only fills the slot.
      const names = parsed.names.length ? parsed.names : ['openid', 'profile', 'email', 'User.Read']
      accessToken = await world.signingKeys.signJwt({
        aud: GRAPH,
        iss: world.v1Issuer(user.tenantId),
        iat: Math.floor(Date.now() / 1000),
        nbf: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + ACCESS_LIFETIME,
        appid: registration.appId,
        appidacr: String(extra.acr),
        name: user.displayName,
        oid: user.objectId,
        scp: names.join(' '),
        tid: user.tenantId,
        upn: user.userPrincipalName,
        ver: '1.0',
      })
      grantedScopes = names.filter((n) => !OIDC_SCOPES.has(n)).map((n) => `https://graph.microsoft.com/${n}`)
    } else {
      const resolved = world.resolveResource(parsed.resource)
      if (!resolved) throw aad.unknownResource(parsed.resource, tenantName(user.tenantId))
      let scp: string
      if (resolved.kind === 'org') {
        const bad = parsed.names.find((n) => n !== 'user_impersonation' && n !== '.default')
        if (bad) throw aad.invalidScope(`${parsed.resource}/${bad}`)
        scp = 'user_impersonation'
      } else {
        if (!world.getServicePrincipal(user.tenantId, resolved.app.appId))
          throw aad.consentRequired(resolved.app.appId, resolved.app.displayName)
        const bad = parsed.names.find((n) => n !== '.default' && !resolved.app.exposedScopes.includes(n))
        if (bad)
          throw aad.invalidGrant(
            650053,
            `The application '${registration.displayName}' asked for scope '${bad}' that doesn't exist on the resource '${resolved.app.appId}'.`,
          )
        scp = (parsed.names.includes('.default') ? resolved.app.exposedScopes : parsed.names).join(' ')
      }
      accessToken = await world.mintUserAccessToken({
        userObjectId: user.objectId,
        appId: registration.appId,
        resource: parsed.resource,
        scp,
        credentialType: extra.acr,
        lifetimeSeconds: ACCESS_LIFETIME,
      })
      grantedScopes = scp.split(' ').map((n) => `${parsed.resource}/${n}`)
    }
    const out: Record<string, unknown> = {
      token_type: 'Bearer',
      scope: [...grantedScopes, ...parsed.oidc.filter((s) => s !== 'offline_access' || wantsRefresh)].join(
        ' ',
      ),
      expires_in: ACCESS_LIFETIME,
      ext_expires_in: ACCESS_LIFETIME,
      access_token: accessToken,
    }
    if (wantsRefresh) {
      const rt = token()
      remember(
        state.refreshTokens,
        rt,
        {
          clientId: registration.appId,
          userObjectId: user.objectId,
          tenantId: user.tenantId,
          spa: extra.spa,
          authTime: extra.authTime,
          expiresAt: Date.now() + (extra.spa ? SPA_REFRESH_TTL_MS : REFRESH_TTL_MS),
        },
        MAX_REFRESH_TOKENS,
      )
      out.refresh_token = rt
      if (extra.spa) out.refresh_token_expires_in = SPA_REFRESH_TTL_MS / 1000
    }
    if (wantsId)
      out.id_token = await world.mintIdToken({
        userObjectId: user.objectId,
        appId: registration.appId,
        authTime: extra.authTime,
        ...(extra.nonce === undefined ? {} : { nonce: extra.nonce }),
      })
    out.client_info = clientInfo(user)
    if (version === 'v1') {
      out.expires_in = String(ACCESS_LIFETIME)
      out.resource = v1Resource
    }
    return out
  }

  async function authenticateClient(
    registration: AppRegistration,
    spa: boolean,
    ref: TenantRef,
    form: URLSearchParams,
    c: Context,
  ): Promise<0 | 1 | 2> {
    const origin = c.req.header('origin')
    if (spa) {
      // SPA redemption must be cross-origin (the browser sends Origin), and a SPA is a public client.
      if (!origin) throw aad.spaCrossOriginOnly()
      return 0
    }
    if (origin) throw aad.crossOriginNotSpa(origin)
    const creds = presentedCredentials(form, c.req.header('authorization'))
    const tenant = ref.kind === 'tenant' ? ref.tenant : world.getTenant(registration.homeTenantId)!
    const audiences = [
      ...assertionAudiences(A(), tenant, ref.segment),
      `${A()}/common/oauth2/v2.0/token`,
      `${A()}/organizations/oauth2/v2.0/token`,
    ]
    const auth = await authenticateConfidentialClient(registration, creds, audiences, state.replay)
    return auth.acr
  }

  return {
    issue: issueUserTokens,
    async redeem(version, grant, ref, form, c) {
      const creds = presentedCredentials(form, c.req.header('authorization'))
      if (!creds.clientId) throw aad.missingParameter('client_id')
      const registration = world.getApp(creds.clientId)
      if (!registration)
        throw aad.appNotFound(creds.clientId, ref.kind === 'tenant' ? ref.tenant.displayName : ref.segment)
      if (grant === 'authorization_code') {
        const code = form.get('code')
        if (!code) throw aad.missingParameter('code')
        const entry = state.codes.get(code)
        if (!entry || entry.clientId !== registration.appId)
          throw aad.invalidGrant(70000, "The provided value for the 'code' parameter is not valid.")
        if (entry.redeemed)
          throw aad.invalidGrant(
            54005,
            'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
          )
        if (entry.expiresAt < Date.now())
          throw aad.invalidGrant(
            70008,
            'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.',
          )
        if (ref.kind === 'tenant' && ref.tenant.id !== entry.tenantId)
          throw aad.invalidGrant(
            70000,
            "The provided value for the 'code' parameter is not valid: it was issued for another tenant.",
          )
        const redirectUri = form.get('redirect_uri')
        if (!redirectUri) throw aad.missingParameter('redirect_uri')
        if (redirectUri !== entry.redirectUri) throw aad.redirectMismatch(redirectUri, registration.appId)
        if (entry.codeChallenge !== undefined) {
          const verifier = form.get('code_verifier') ?? ''
          const computed =
            entry.codeChallengeMethod === 'S256'
              ? createHash('sha256').update(verifier).digest('base64url')
              : verifier
          if (!verifier || computed !== entry.codeChallenge)
            throw aad.invalidGrant(
              501481,
              'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
            )
        }
        const acr = await authenticateClient(registration, entry.redirectKind === 'spa', ref, form, c)
        entry.redeemed = true
        const user = world.getUser(entry.userObjectId)
        if (!user) throw aad.invalidGrant(70000, "The provided value for the 'code' parameter is not valid.")
        const requested = (form.get('scope') ?? entry.scopes.join(' ')).split(' ').filter(Boolean)
        return issueUserTokens(
          version,
          registration,
          user,
          requested,
          form.get('resource') ?? entry.resource,
          {
            ...(entry.nonce === undefined ? {} : { nonce: entry.nonce }),
            authTime: entry.authTime,
            spa: entry.redirectKind === 'spa',
            acr,
          },
        )
      }
      const rt = form.get('refresh_token')
      if (!rt) throw aad.missingParameter('refresh_token')
      const entry = state.refreshTokens.get(rt)
      if (!entry || entry.clientId !== registration.appId)
        throw aad.invalidGrant(9002313, 'Invalid request. Request is malformed or invalid.')
      if (entry.expiresAt < Date.now()) {
        state.refreshTokens.delete(rt)
        throw aad.invalidGrant(700082, 'The refresh token has expired due to inactivity.')
      }
      if (ref.kind === 'tenant' && ref.tenant.id !== entry.tenantId)
        throw aad.invalidGrant(9002313, 'Invalid request. The refresh token was issued in another tenant.')
      const acr = await authenticateClient(registration, entry.spa, ref, form, c)
      const user = world.getUser(entry.userObjectId)
      if (!user) throw aad.invalidGrant(9002313, 'Invalid request. Request is malformed or invalid.')
      const requested = (form.get('scope') ?? 'openid offline_access').split(' ').filter(Boolean)
      return issueUserTokens(version, registration, user, requested, form.get('resource') ?? undefined, {
        authTime: entry.authTime,
        spa: entry.spa,
        acr,
      })
    },
  }
}

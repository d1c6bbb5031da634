import { randomUUID } from 'node:crypto'
import type { Context, Hono } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { User } from '../world/types.ts'
import { type AadError, aad, aadErrorBody } from './aad-error.ts'
import { remember } from './bounded.ts'
import { consentPage, errorPage, formPostPage, signedOutPage, signInPage } from './pages.ts'
import type { TenantRef } from './tenant-ref.ts'
import {
  CODE_TTL_MS,
  clientInfo,
  formBody,
  MAX_CODES,
  MAX_SESSIONS,
  matchRedirectUri,
  OIDC_SCOPES,
  paramsOf,
  responseTarget,
  SESSION_COOKIE,
  token,
  type UserFlowOptions,
  type UserFlows,
} from './user-flow-shared.ts'
import { createUserTokens } from './user-tokens.ts'

// app.ts and device-code.ts take the flows' types from here, beside registerUserFlows.
export type { UserFlowState, UserFlows } from './user-flow-shared.ts'

/** The interactive pages of the user flows (authorize, sign-out, admin consent, userinfo); redemption is user-tokens.ts. */
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
    const authTime = Math.floor(world.clock.now() / 1000)
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
        expiresAt: world.clock.now() + CODE_TTL_MS,
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

  return createUserTokens(options)
}

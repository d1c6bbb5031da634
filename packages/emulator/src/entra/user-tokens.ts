import { createHash } from 'node:crypto'
import type { Context } from 'hono'
import type { AppRegistration, User } from '../world/types.ts'
import { aad } from './aad-error.ts'
import { remember } from './bounded.ts'
import { assertionAudiences, authenticateConfidentialClient, presentedCredentials } from './client-auth.ts'
import type { TenantRef } from './tenant-ref.ts'
import {
  ACCESS_LIFETIME,
  clientInfo,
  GRAPH,
  MAX_REFRESH_TOKENS,
  OIDC_SCOPES,
  parseScopes,
  REFRESH_TTL_MS,
  SPA_REFRESH_TTL_MS,
  token,
  type UserFlowOptions,
  type UserFlows,
} from './user-flow-shared.ts'

/** Token redemption of the user flows: authorization codes and refresh tokens in, user tokens out. */
export function createUserTokens(options: UserFlowOptions): UserFlows {
  const { world, state } = options
  const A = () => world.authorityUrl
  const tenantName = (id: string) => world.getTenant(id)?.displayName ?? id

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
        iat: Math.floor(world.clock.now() / 1000),
        nbf: Math.floor(world.clock.now() / 1000),
        exp: Math.floor(world.clock.now() / 1000) + ACCESS_LIFETIME,
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
      if (resolved.kind !== 'api') {
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
          expiresAt: world.clock.now() + (extra.spa ? SPA_REFRESH_TTL_MS : REFRESH_TTL_MS),
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
        if (entry.expiresAt < world.clock.now())
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
      if (entry.expiresAt < world.clock.now()) {
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

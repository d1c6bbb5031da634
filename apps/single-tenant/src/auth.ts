import {
  ConfidentialClientApplication,
  CryptoProvider,
  type INetworkModule,
  LogLevel,
} from '@azure/msal-node'
import {
  type CloudInput,
  createMsalNetworkClient,
  createUserTokenVerifier,
  isCoreError,
} from '@dataverse-s2s/core'
import { loadCertificate } from './certificate.ts'
import type { AppConfig } from './config.ts'
import { randomId, type SessionUser, safeEqual } from './session.ts'

/** What the app remembers between sending the browser to Entra ID and its return (server-side, single use). */
export interface SignInFlow {
  state: string
  nonce: string
  codeVerifier: string
  returnTo: string
}

export type SignInResult =
  | { ok: true; user: SessionUser; returnTo: string }
  /** `refused`: a valid user of another tenant; `failed`: anything else (cancelled, expired, forged). */
  | { ok: false; reason: 'refused' | 'failed'; message: string; username?: string }

export interface SignIn {
  begin(returnTo: string): Promise<{ url: string; flow: SignInFlow }>
  complete(flow: SignInFlow, params: URLSearchParams): Promise<SignInResult>
  logoutUrl(postLogoutRedirectUri: string): string
}

const PUBLIC_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
])

/** Only paths of this app (up to 1,024 characters), never `//evil.example` or an absolute URL. */
export function safeReturnTo(value: string | undefined): string {
  if (!value?.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/'
  // Bounded: the path travels in the sealed sign-in cookie, which browsers cap at about 4 KB.
  return /^[\x21-\x7e]{1,1024}$/.test(value) ? value : '/'
}

/**
 * Sign-in with authorization code + PKCE against the tenant's own authority (never `organizations`), with MSAL.
 * MSAL checks `state` and redeems the code but does not check the ID token's signature, so the ID token is
 * verified here with `@dataverse-s2s/core`'s verifier (RS256 against the issuer's JWKS, `aud` = this app,
 * issuer = `{host}/{tid}/v2.0`, expiry), and then `tid` must be this tenant and `nonce` the one we sent.
 * MSAL talks to Entra ID through `@dataverse-s2s/core`'s network client, which trusts `config.caPem` like the
 * token provider and the verifier do (tests pass their own `network` to alter Entra's answers).
 */
export function createSignIn(
  config: AppConfig,
  network: INetworkModule = createMsalNetworkClient({
    ...(config.caPem ? { ca: config.caPem } : {}),
    timeoutMs: 15_000,
  }),
): SignIn {
  const authority = `${config.authorityHost}/${config.tenantId}`
  const host = new URL(config.authorityHost).host
  const certificate = loadCertificate(config)
  const msal = new ConfidentialClientApplication({
    auth: {
      clientId: config.clientId,
      authority,
      // MSAL signs a PS256 assertion with the x5t#S256 thumbprint and reuses it until it expires, as Entra allows.
      clientCertificate: {
        thumbprintSha256: certificate.thumbprintSha256,
        privateKey: certificate.privateKeyPkcs8,
      },
      // MSAL validates authorities against Microsoft's instance discovery; a host it does not know must be listed.
      ...(PUBLIC_HOSTS.has(host) ? {} : { knownAuthorities: [host] }),
    },
    system: {
      networkClient: network,
      loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => {} },
    },
  })
  const cloud: CloudInput = PUBLIC_HOSTS.has(host)
    ? 'public'
    : { name: 'custom', authorityHost: config.authorityHost }
  const tenant = config.tenantId.toLowerCase()
  const verifier = createUserTokenVerifier({
    audience: config.clientId,
    cloud,
    jwksUri: `${authority}/discovery/v2.0/keys`,
    isTenantAllowed: (tid) => tid === tenant,
    // This server verifies the ID tokens of its own sign-ins, not access tokens for an API.
    tokenTypes: ['id'],
    requiredScopes: [],
    ...(config.caPem ? { http: { ca: config.caPem } } : {}),
  })
  const crypto = new CryptoProvider()
  const redirectUri = `${config.publicUrl}/auth/callback`
  const scopes = ['openid', 'profile', 'email']

  return {
    async begin(returnTo) {
      const { verifier: codeVerifier, challenge } = await crypto.generatePkceCodes()
      const flow: SignInFlow = {
        state: randomId(),
        nonce: randomId(),
        codeVerifier,
        returnTo: safeReturnTo(returnTo),
      }
      const url = await msal.getAuthCodeUrl({
        scopes,
        redirectUri,
        codeChallenge: challenge,
        codeChallengeMethod: 'S256',
        state: flow.state,
        nonce: flow.nonce,
        prompt: 'select_account',
      })
      return { url, flow }
    },

    async complete(flow, params) {
      const state = params.get('state') ?? ''
      if (!safeEqual(state, flow.state)) {
        return {
          ok: false,
          reason: 'failed',
          message: 'The sign-in response does not belong to this sign-in.',
        }
      }
      const error = params.get('error')
      if (error) {
        // Show only the AADSTS number: error_description is attacker-controllable text in a crafted link.
        const code = /AADSTS\d{5,8}/.exec(params.get('error_description') ?? '')?.[0]
        const refused = code === 'AADSTS50020' || code === 'AADSTS500200' || code === 'AADSTS50177'
        return {
          ok: false,
          reason: refused ? 'refused' : 'failed',
          message: refused
            ? 'Entra ID refused this account: it belongs to another organization.'
            : `Entra ID did not sign you in (${error.replace(/[^a-z_]/gi, '').slice(0, 40)}${code ? `, ${code}` : ''}).`,
        }
      }
      const code = params.get('code')
      if (!code) return { ok: false, reason: 'failed', message: 'The sign-in response carries no code.' }
      let idToken: string
      try {
        // With `state` and `nonce` in the request, MSAL also compares them (its nonce check is strict).
        const result = await msal.acquireTokenByCode(
          {
            code,
            scopes,
            redirectUri,
            codeVerifier: flow.codeVerifier,
            state: flow.state,
            nonce: flow.nonce,
          },
          { code, state },
        )
        idToken = result.idToken
        // This app keeps no user tokens (Dataverse is called with the app's own token): keep MSAL's cache empty.
        if (result.account) await msal.getTokenCache().removeAccount(result.account)
      } catch (cause) {
        // The error code only: MSAL's messages can quote server responses, and logs must never hold tokens.
        console.warn(`sign-in: code redemption failed (${errorCode(cause)})`)
        const aadsts = /AADSTS\d{5,8}/.exec(cause instanceof Error ? cause.message : '')?.[0]
        return {
          ok: false,
          reason: 'failed',
          message: `The sign-in code could not be redeemed${aadsts ? ` (${aadsts})` : ''}. Sign in again.`,
        }
      }
      try {
        const user = await verifier.verify(idToken)
        const claims = user.claims
        if (typeof claims['nonce'] !== 'string' || !safeEqual(claims['nonce'], flow.nonce)) {
          return {
            ok: false,
            reason: 'failed',
            message: 'The ID token was not issued for this sign-in (nonce).',
          }
        }
        if (user.tenantId !== tenant) throw new Error('unreachable: the verifier allows only this tenant')
        const username = stringClaim(claims, 'preferred_username') ?? stringClaim(claims, 'upn') ?? ''
        return {
          ok: true,
          returnTo: flow.returnTo,
          user: { objectId: user.objectId, tenantId: user.tenantId, name: user.name ?? username, username },
        }
      } catch (cause) {
        if (isCoreError(cause) && cause.code === 'TENANT_NOT_ALLOWED') {
          const claims = decodeClaims(idToken)
          const username = stringClaim(claims, 'preferred_username')
          return {
            ok: false,
            reason: 'refused',
            message: 'This account belongs to another organization.',
            ...(username ? { username } : {}),
          }
        }
        const code = isCoreError(cause) ? cause.code : 'INVALID_TOKEN'
        return { ok: false, reason: 'failed', message: `The ID token was rejected (${code}). Sign in again.` }
      }
    },

    logoutUrl(postLogoutRedirectUri) {
      const url = new URL(`${authority}/oauth2/v2.0/logout`)
      url.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri)
      return url.toString()
    },
  }
}

function errorCode(error: unknown): string {
  const code = (error as { errorCode?: unknown })?.errorCode
  return typeof code === 'string' ? code.replace(/[^\w.-]/g, '').slice(0, 60) : 'unknown'
}

function stringClaim(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name]
  return typeof value === 'string' ? value : undefined
}

/** Claims of a token whose signature was already checked (used only to name the refused account). */
function decodeClaims(token: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))
  } catch {
    return {}
  }
}

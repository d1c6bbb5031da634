import { randomBytes, randomInt } from 'node:crypto'
import type { Context, Hono } from 'hono'
import type { User } from '../world/types.ts'
import type { World } from '../world/world.ts'
import { AadError, aad } from './aad-error.ts'
import {
  assertionAudiences,
  authenticateConfidentialClient,
  presentedCredentials,
  type ReplayCache,
} from './client-auth.ts'
import { consentPage, escapeHtml, page, signInPage } from './pages.ts'
import type { TenantRef } from './tenant-ref.ts'
import type { UserFlows } from './user-flows.ts'

// The device authorization grant as Entra ID serves it (learn.microsoft.com, "Microsoft identity platform and the
// OAuth 2.0 device authorization grant flow"; RFC 8628): POST /{tenant}/oauth2/v2.0/devicecode answers device_code,
// user_code, verification_uri, expires_in (900), interval (5) and message; the client polls the token endpoint with
// grant_type=urn:ietf:params:oauth:grant-type:device_code and gets authorization_pending (AADSTS70016) until the user
// entered the code and signed in, authorization_declined when they refused, expired_token after expires_in, and
// (RFC 8628 §3.5) slow_down when it polls faster than `interval`.

/** The grant type of the token request. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
/** Entra's defaults. */
const LIFETIME_SECONDS = 900
const INTERVAL_SECONDS = 5
const USER_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'

interface DeviceAuthorization {
  deviceCode: string
  userCode: string
  clientId: string
  /** The tenant segment of the request: the user must belong to it (any tenant for common/organizations). */
  ref: TenantRef
  version: 'v1' | 'v2'
  scopes: string[]
  resource?: string
  expiresAt: number
  intervalMs: number
  lastPollAt?: number
  status: 'pending' | 'approved' | 'declined' | 'redeemed'
  userObjectId?: string
  authTime?: number
}

export interface DeviceCodeOptions {
  world: World
  state: { replay: ReplayCache }
  userFlows: UserFlows
  resolveTenant: (segment: string) => TenantRef | undefined
  /** The clock (tests move it to expire codes). Default `Date.now`. */
  now?: () => number
}

export interface DeviceCodeFlow {
  /** Redeems a device code at the token endpoint (the grant `urn:ietf:params:oauth:grant-type:device_code`). */
  redeem(
    version: 'v1' | 'v2',
    ref: TenantRef,
    form: URLSearchParams,
    c: Context,
  ): Promise<Record<string, unknown>>
}

const codeError = {
  pending: () =>
    new AadError(
      400,
      'authorization_pending',
      70016,
      'OAuth 2.0 device flow error. Authorization is pending. Continue polling.',
    ),
  slowDown: () =>
    new AadError(
      400,
      'slow_down',
      70016,
      'OAuth 2.0 device flow error. Polling too fast: wait longer between requests.',
    ),
  expired: () =>
    new AadError(
      400,
      'expired_token',
      70020,
      'The provided device code has expired. Start a new device code request.',
    ),
  declined: () =>
    new AadError(
      400,
      'authorization_declined',
      70000,
      'The user declined the authorization request on the verification page.',
    ),
  badCode: () =>
    new AadError(
      400,
      'bad_verification_code',
      70000,
      "The provided value for the 'device_code' parameter is not valid.",
    ),
}

async function formOf(c: Context): Promise<URLSearchParams> {
  const type = c.req.header('content-type') ?? ''
  if (c.req.method !== 'POST' || !type.includes('application/x-www-form-urlencoded'))
    return new URLSearchParams()
  return new URLSearchParams(await c.req.text())
}

function userCode(): string {
  let out = ''
  for (let i = 0; i < 9; i++) out += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]
  return out
}

/** Registers `/{tenant}/oauth2/v2.0/devicecode`, `/{tenant}/oauth2/devicecode` and the verification page. */
export function registerDeviceCode(app: Hono, options: DeviceCodeOptions): DeviceCodeFlow {
  const { world, resolveTenant, userFlows } = options
  const now = options.now ?? (() => Date.now())
  const A = () => world.authorityUrl
  const byDevice = new Map<string, DeviceAuthorization>()
  const byUser = new Map<string, DeviceAuthorization>()
  const verificationPath = '/common/oauth2/deviceauth'

  const sweep = () => {
    for (const [k, v] of byDevice)
      if (v.expiresAt + 60_000 < now() || v.status === 'redeemed') {
        byDevice.delete(k)
        byUser.delete(v.userCode)
      }
  }

  const authorize = (version: 'v1' | 'v2') => async (c: Context) => {
    const segment = c.req.param('tenant') ?? ''
    const form = await formOf(c)
    try {
      const ref = resolveTenant(segment)
      if (!ref) throw aad.unknownTenant(segment)
      const clientId = form.get('client_id')
      if (!clientId) throw aad.missingParameter('client_id')
      const registration = world.getApp(clientId)
      if (!registration)
        throw aad.appNotFound(clientId, ref.kind === 'tenant' ? ref.tenant.displayName : segment)
      const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean)
      const resource = version === 'v1' ? (form.get('resource') ?? undefined) : undefined
      if (version === 'v2' && scopes.length === 0) throw aad.missingParameter('scope')
      if (version === 'v1' && resource === undefined) throw aad.missingParameter('resource')
      sweep()
      const entry: DeviceAuthorization = {
        deviceCode: randomBytes(48).toString('base64url'),
        userCode: userCode(),
        clientId: registration.appId,
        ref,
        version,
        scopes,
        ...(resource === undefined ? {} : { resource }),
        expiresAt: now() + LIFETIME_SECONDS * 1000,
        intervalMs: INTERVAL_SECONDS * 1000,
        status: 'pending',
      }
      byDevice.set(entry.deviceCode, entry)
      byUser.set(entry.userCode, entry)
      const verificationUri = `${A()}${verificationPath}`
      const body = {
        user_code: entry.userCode,
        device_code: entry.deviceCode,
        verification_uri: verificationUri,
        expires_in: version === 'v1' ? String(LIFETIME_SECONDS) : LIFETIME_SECONDS,
        interval: version === 'v1' ? String(INTERVAL_SECONDS) : INTERVAL_SECONDS,
        message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${entry.userCode} to authenticate.`,
      }
      return c.json(body, 200, { 'Cache-Control': 'no-store, no-cache' })
    } catch (err) {
      if (err instanceof AadError) return err.respond(c, A())
      throw err
    }
  }
  app.post('/:tenant/oauth2/v2.0/devicecode', authorize('v2'))
  app.post('/:tenant/oauth2/devicecode', authorize('v1'))

  // ---- the verification page: enter the code, sign in, approve (or cancel)
  const codePage = (error?: string) =>
    page(
      'Enter code',
      `<h1>Enter code</h1><p class="sub">Enter the code displayed on your app or device.</p>
${error ? `<p class="err" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${verificationPath}"><input type="hidden" name="__step" value="code">
<label for="otc">Code</label><input id="otc" name="otc" autocomplete="off">
<button class="primary" type="submit">Next</button></form>`,
    )
  const donePage = (text: string) =>
    page('Device sign-in', `<h1>${escapeHtml(text)}</h1><p>You may now close this window.</p>`)

  const usersFor = (ref: TenantRef) =>
    [...world.users.values()]
      .filter((u) => ref.kind !== 'tenant' || u.tenantId === ref.tenant.id)
      .map((u) => ({ ...u, tenantName: world.getTenant(u.tenantId)?.displayName ?? u.tenantId }))

  const verify = async (c: Context) => {
    const form = await formOf(c)
    const step = form.get('__step') ?? ''
    if (step === '') return c.html(codePage())
    const entry = byUser.get((form.get('otc') ?? '').trim().toUpperCase().replaceAll('-', ''))
    const wrongCode = () =>
      c.html(codePage("AADSTS70000: That code didn't work. Check the code and try again."), 400)
    if (!entry) return wrongCode()
    if (entry.status !== 'pending') return wrongCode()
    if (entry.expiresAt <= now())
      return c.html(
        codePage('AADSTS70020: That code has expired. Start again on your device to get a new one.'),
        400,
      )
    const registration = world.getApp(entry.clientId)
    if (!registration) return c.html(codePage('The application no longer exists.'), 400)
    const fields = { otc: entry.userCode }
    const signIn = (error?: string) =>
      c.html(
        signInPage({
          action: verificationPath,
          fields: { ...fields, __step: 'signin' },
          users: usersFor(entry.ref),
          appName: registration.displayName,
          ...(error === undefined ? {} : { error }),
        }),
        error ? 400 : 200,
      )
    if (step === 'code') return signIn()
    const upn = (form.get('login') || form.get('typed') || '').trim()
    const user: User | undefined = upn ? world.findUserByUpn(upn) : undefined
    if (!user) return signIn('AADSTS50034: The user account does not exist in this directory.')
    if (entry.ref.kind === 'tenant' && user.tenantId !== entry.ref.tenant.id)
      return signIn(
        `AADSTS50020: User account '${user.userPrincipalName}' does not exist in tenant '${entry.ref.tenant.displayName}'.`,
      )
    const needsConsent = world.getServicePrincipal(user.tenantId, registration.appId) === undefined
    if (step === 'signin') {
      if (needsConsent && !user.isTenantAdmin) {
        entry.status = 'declined'
        return c.html(donePage(`AADSTS90093: ${aad.adminOnly().description}`), 400)
      }
      return c.html(
        consentPage({
          action: verificationPath,
          fields: { ...fields, login: user.userPrincipalName, __step: 'approve' },
          appName: registration.displayName,
          publisher: world.getTenant(registration.homeTenantId)?.displayName ?? registration.homeTenantId,
          user,
          tenantName: world.getTenant(user.tenantId)?.displayName ?? user.tenantId,
          permissions: [
            `Are you trying to sign in to ${registration.displayName} on another device?`,
            ...(entry.resource
              ? [`Access ${entry.resource} as you`]
              : entry.scopes.map((s) => `Access ${s}`)),
          ],
        }),
      )
    }
    if (step !== 'approve') return c.html(codePage(), 400)
    if (form.get('consent') !== 'accept') {
      entry.status = 'declined'
      return c.html(donePage('You declined to sign in on the other device.'))
    }
    if (needsConsent) world.grantConsent(user.tenantId, registration.appId)
    entry.status = 'approved'
    entry.userObjectId = user.objectId
    entry.authTime = Math.floor(now() / 1000)
    return c.html(donePage(`You have signed in to ${registration.displayName} on your device.`))
  }
  app.get(verificationPath, verify)
  app.post(verificationPath, verify)
  app.get('/devicelogin', (c) => c.redirect(verificationPath, 302))

  return {
    async redeem(version, ref, form, c) {
      const creds = presentedCredentials(form, c.req.header('authorization'))
      if (!creds.clientId) throw aad.missingParameter('client_id')
      const code = form.get('device_code') ?? form.get('code')
      if (!code) throw aad.missingParameter('device_code')
      const entry = byDevice.get(code)
      if (!entry || entry.clientId !== creds.clientId.toLowerCase() || entry.status === 'redeemed')
        throw codeError.badCode()
      const registration = world.getApp(entry.clientId)
      if (!registration) throw codeError.badCode()
      // No app in the emulator allows public client flows, so the device must authenticate as a confidential client.
      const tenant =
        ref.kind === 'tenant'
          ? ref.tenant
          : (world.getTenant(registration.homeTenantId) as NonNullable<ReturnType<World['getTenant']>>)
      const auth = await authenticateConfidentialClient(
        registration,
        creds,
        [
          ...assertionAudiences(A(), tenant, ref.segment),
          `${A()}/organizations/oauth2/v2.0/token`,
          `${A()}/common/oauth2/v2.0/token`,
        ],
        options.state.replay,
      )
      const at = now()
      if (entry.expiresAt <= at) throw codeError.expired()
      if (entry.status === 'declined') throw codeError.declined()
      if (entry.status === 'pending') {
        const early = entry.lastPollAt !== undefined && at - entry.lastPollAt < entry.intervalMs
        entry.lastPollAt = at
        if (early) {
          entry.intervalMs += 5000
          throw codeError.slowDown()
        }
        throw codeError.pending()
      }
      const user = entry.userObjectId ? world.getUser(entry.userObjectId) : undefined
      if (!user) throw codeError.badCode()
      entry.status = 'redeemed'
      const requested = version === 'v2' ? entry.scopes : ['openid', 'offline_access']
      return userFlows.issue(version, registration, user, requested, entry.resource, {
        authTime: entry.authTime ?? Math.floor(at / 1000),
        spa: false,
        acr: auth.acr === 2 ? 2 : 1,
      })
    },
  }
}

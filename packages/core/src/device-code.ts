import { type CloudInput, resolveCloud } from './clouds.ts'
import { buildAdminConsentUrl } from './consent.ts'
import type { SecretCredential } from './credentials.ts'
import { TokenError } from './errors.ts'
import type { HttpOptions } from './http-options.ts'
import { toTokenError } from './internal/aadsts.ts'
import { send } from './internal/http.ts'

// The device authorization grant of the Microsoft identity platform (learn.microsoft.com, "OAuth 2.0 device
// authorization grant"; RFC 8628). msal-node 7 dropped public-client flows, so this speaks the protocol directly:
// POST {authority}/{tenant}/oauth2/v2.0/devicecode, then poll /token with
// grant_type=urn:ietf:params:oauth:grant-type:device_code every `interval` seconds; `authorization_pending` means keep
// polling, `slow_down` adds 5 s to the interval (RFC 8628 §3.5), `authorization_declined`, `expired_token` and
// `bad_verification_code` end it.

/** What to show the user: open `verificationUri` and enter `userCode`. */
export interface DeviceCodePrompt {
  userCode: string
  verificationUri: string
  /** Entra's own sentence with both, ready to print. */
  message: string
  /** When the code stops working. */
  expiresAt: Date
}

/** Options of {@link acquireTokenByDeviceCode}: the app, the scopes to ask for, and where to show the code. */
export interface DeviceCodeOptions {
  /** The application (client) id the user signs in to. */
  clientId: string
  /**
   * The app's client secret, when the app registration does not allow public client flows (Entra then demands
   * `client_secret`, AADSTS7000218). Omit it for a public client.
   */
  credential?: SecretCredential
  /** Tenant id or domain, or `organizations` (default). */
  tenant?: string
  /** Scopes to ask for, e.g. `['https://contoso.crm.dynamics.com/user_impersonation']`. */
  scopes: readonly string[]
  cloud?: CloudInput
  http?: HttpOptions
  /** Called once with the code to show; sign-in happens elsewhere while this function polls. */
  onPrompt: (prompt: DeviceCodePrompt) => void | Promise<void>
  /** Stops polling: the promise rejects with the signal's reason. */
  signal?: AbortSignal
  /** Waits between polls (tests pass a fake). Default: a timer that the signal cancels. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
}

/** The signed-in user's tokens. */
export interface DeviceCodeResult {
  accessToken: string
  /** When the access token expires. */
  expiresOn: Date
  /** Granted scopes, space-separated. */
  scope: string
  idToken?: string
  refreshToken?: string
}

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function parse(text: string): Record<string, unknown> {
  try {
    const body = JSON.parse(text) as unknown
    return body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

/**
 * Signs a user in with the device code flow and returns their tokens: asks Entra ID for a code, hands it to
 * `onPrompt`, then polls until the user signed in on another device, declined, or the code expired.
 * @throws {TokenError} `DEVICE_CODE_EXPIRED` (nobody signed in within `expires_in`), `DEVICE_CODE_DECLINED` (the
 * user refused), and the codes of the token provider for other answers (`INVALID_CLIENT_SECRET`,
 * `APP_NOT_FOUND_IN_TENANT`, `NETWORK`, ...).
 * @example
 * const { accessToken } = await acquireTokenByDeviceCode({
 *   clientId, scopes: [`${orgUrl}/user_impersonation`], onPrompt: (p) => console.log(p.message),
 * })
 */
export async function acquireTokenByDeviceCode(options: DeviceCodeOptions): Promise<DeviceCodeResult> {
  const cloud = resolveCloud(options.cloud)
  const tenant = options.tenant ?? 'organizations'
  const sleep = options.sleep ?? wait
  const secrets = options.credential ? [options.credential.secret] : []
  const resource = options.scopes.find((s) => s.includes('://'))?.replace(/\/[^/]*$/, '') ?? ''
  const fail = (error: unknown) =>
    toTokenError(error, {
      clientId: options.clientId,
      tenantId: tenant,
      resource,
      consentUrl: (t) => buildAdminConsentUrl({ clientId: options.clientId, tenant: t, resource, cloud }),
      secrets,
      managedIdentity: false,
    })
  const post = async (path: string, fields: Record<string, string>) => {
    let res: Awaited<ReturnType<typeof send>>
    try {
      res = await send(
        `${cloud.authorityHost}/${encodeURIComponent(tenant)}/oauth2/v2.0/${path}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams(fields).toString(),
          ...(options.signal ? { signal: options.signal } : {}),
        },
        options.http,
      )
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason
      throw fail(err)
    }
    return { status: res.status, body: parse(res.text) }
  }
  const oauthError = (body: Record<string, unknown>, status: number) => ({
    errorCode: String(body['error'] ?? 'server_error'),
    errorMessage: String(body['error_description'] ?? `HTTP ${status}`),
    status,
    ...(typeof body['correlation_id'] === 'string' ? { correlationId: body['correlation_id'] } : {}),
  })

  const client: Record<string, string> = { client_id: options.clientId }
  if (options.credential) client['client_secret'] = options.credential.secret
  const start = await post('devicecode', { client_id: options.clientId, scope: options.scopes.join(' ') })
  const deviceCode = start.body['device_code']
  if (start.status !== 200 || typeof deviceCode !== 'string') throw fail(oauthError(start.body, start.status))
  const expiresIn = Number(start.body['expires_in'] ?? 900)
  const expiresAt = new Date(Date.now() + expiresIn * 1000)
  let intervalMs = Number(start.body['interval'] ?? 5) * 1000
  await options.onPrompt({
    userCode: String(start.body['user_code'] ?? ''),
    verificationUri: String(start.body['verification_uri'] ?? ''),
    message: String(start.body['message'] ?? ''),
    expiresAt,
  })
  for (;;) {
    await sleep(intervalMs, options.signal)
    const res = await post('token', {
      ...client,
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: deviceCode,
    })
    if (res.status === 200 && typeof res.body['access_token'] === 'string') {
      const b = res.body
      return {
        accessToken: b['access_token'] as string,
        expiresOn: new Date(Date.now() + Number(b['expires_in'] ?? 3599) * 1000),
        scope: String(b['scope'] ?? ''),
        ...(typeof b['id_token'] === 'string' ? { idToken: b['id_token'] } : {}),
        ...(typeof b['refresh_token'] === 'string' ? { refreshToken: b['refresh_token'] } : {}),
      }
    }
    switch (res.body['error']) {
      case 'authorization_pending':
        continue
      case 'slow_down':
        intervalMs += 5000
        continue
      case 'expired_token':
        throw new TokenError(
          'DEVICE_CODE_EXPIRED',
          `Nobody signed in with code ${String(start.body['user_code'])} before it expired: run the command again and enter the new code within ${Math.round(expiresIn / 60)} minutes.`,
          { details: { tenantId: tenant, oauthError: 'expired_token' } },
        )
      case 'authorization_declined':
        throw new TokenError(
          'DEVICE_CODE_DECLINED',
          'The sign-in was declined on the verification page: run the command again and accept, as a user allowed to do what it needs.',
          { details: { tenantId: tenant, oauthError: 'authorization_declined' } },
        )
      default:
        throw fail(oauthError(res.body, res.status))
    }
  }
}

import { defaultIds } from '@dataverse-s2s/emulator'
import { type RunningApp, startApp } from '../src/server/bootstrap.ts'

export const ids = defaultIds
export const appId = defaultIds.multiTenantAppId
export const apiAudience = `api://${appId}`

/** The app on an emulator with random ports, an in-memory registry, and every log line captured. */
export async function startTestApp(options: { listen?: boolean; staticRoot?: string } = {}) {
  const logs: string[] = []
  const running: RunningApp = await startApp({
    config: {
      port: 0,
      dataDir: '/tmp/multi-tenant-test',
      stateSecret: 'test-state-secret-0123456789-abcdefghijkl',
    },
    emulatorPort: 0,
    persistEmulator: false,
    inMemoryRegistry: true,
    listen: options.listen ?? false,
    ...(options.staticRoot ? { staticRoot: options.staticRoot } : {}),
    logSink: (line) => logs.push(line),
  })
  const emulator = running.emulator
  if (!emulator) throw new Error('the tests run on the emulator')
  const org = (tenantId: string) => {
    const o = emulator.orgs.find((x) => x.tenantId === tenantId)
    if (!o) throw new Error(`no org for ${tenantId}`)
    return o
  }
  const userToken = (userObjectId: string, scp?: string) =>
    emulator.world.mintUserAccessToken({
      userObjectId,
      appId,
      resource: apiAudience,
      ...(scp ? { scp } : {}),
    })
  return { running, emulator, logs, org, userToken }
}

type TestApp = Awaited<ReturnType<typeof startTestApp>>

/** A request to the app: JSON body, bearer token and cookie when given. */
export function request(
  t: TestApp,
  path: string,
  init: { token?: string; body?: unknown; cookie?: string; method?: string } = {},
): Promise<Response> {
  return Promise.resolve(
    t.running.app.request(path, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
        ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(init.cookie ? { Cookie: init.cookie } : {}),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    }),
  )
}

/**
 * Step 1 as `adminObjectId` (signed in first): `POST /api/onboarding/start`. Returns the answer, the browser-session
 * cookie (`name=value`, the one given or the one set) and the consent URL's `state` (empty when refused).
 */
export async function startOnboarding(
  t: TestApp,
  adminObjectId: string,
  body: { orgUrl: string; intent?: string; confirm?: boolean },
  cookie?: string,
): Promise<{ res: Response; cookie: string; state: string }> {
  const res = await request(t, '/api/onboarding/start', {
    token: await t.userToken(adminObjectId),
    body,
    ...(cookie ? { cookie } : {}),
  })
  if (res.status !== 200) return { res, cookie: cookie ?? '', state: '' }
  const set = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  const { consentUrl } = (await res.clone().json()) as { consentUrl: string }
  return { res, cookie: cookie ?? set, state: new URL(consentUrl).searchParams.get('state') ?? '' }
}

/**
 * The admin-consent redirect as Entra ID sends it (`admin_consent=True&tenant=…&state=…`, or any `query`), with the
 * browser's cookie. Returns the query of the SPA page it redirects to: `ticket`, or `error` and `message`.
 */
export async function consentCallback(
  t: TestApp,
  query: { tenant?: string; state?: string } | string,
  cookie?: string,
): Promise<URLSearchParams> {
  const q =
    typeof query === 'string'
      ? query
      : `admin_consent=True&tenant=${query.tenant ?? ''}&state=${encodeURIComponent(query.state ?? '')}`
  const res = await t.running.app.request(
    `/onboarding/callback?${q}`,
    cookie ? { headers: { Cookie: cookie } } : {},
  )
  if (res.status !== 303) throw new Error(`callback: ${res.status}`)
  return new URLSearchParams((res.headers.get('location') ?? '').split('?')[1] ?? '')
}

/** Step 3: the signed-in admin presents the callback's ticket from the same browser. */
export async function completeOnboarding(
  t: TestApp,
  adminObjectId: string,
  ticket: string,
  cookie?: string,
): Promise<Response> {
  return request(t, '/api/onboarding/complete', {
    token: await t.userToken(adminObjectId),
    body: { ticket },
    ...(cookie ? { cookie } : {}),
  })
}

/** The tenant's record and its event log, as JSON: compare before and after an attack to see that nothing changed. */
export async function registrySnapshot(t: TestApp, tenantId: string): Promise<string> {
  const registry = t.running.registry
  return JSON.stringify([await registry.get(tenantId), await registry.events(tenantId)])
}

/**
 * Runs the whole onboarding as the tenant's admin: start (signed in), consent (granted in the emulator), callback,
 * complete, provision. `intent`/`confirm` for a reconnect or an org change.
 */
export async function onboard(
  t: TestApp,
  tenantId: string,
  adminObjectId: string,
  options: { intent?: 'connect' | 'reconnect' | 'change_org'; orgUrl?: string } = {},
): Promise<{ session: string; log: string[] }> {
  const { emulator } = t
  const orgUrl = options.orgUrl ?? t.org(tenantId).url
  const started = await startOnboarding(t, adminObjectId, {
    orgUrl,
    ...(options.intent ? { intent: options.intent, confirm: true } : {}),
  })
  if (started.res.status !== 200) throw new Error(`start: ${started.res.status} ${await started.res.text()}`)
  emulator.world.grantConsent(tenantId, appId)
  const back = await consentCallback(t, { tenant: tenantId, state: started.state }, started.cookie)
  const ticket = back.get('ticket')
  if (!ticket) throw new Error(`callback: ${back}`)
  const done = await completeOnboarding(t, adminObjectId, ticket, started.cookie)
  if (done.status !== 200) throw new Error(`complete: ${done.status} ${await done.text()}`)
  const adminApi = await t.userToken(adminObjectId)
  const orgToken = await emulator.world.mintUserAccessToken({
    userObjectId: adminObjectId,
    appId,
    resource: orgUrl,
  })
  const res = await request(t, '/api/onboarding/provision', {
    token: adminApi,
    body: { dataverseToken: orgToken },
  })
  if (res.status !== 200) throw new Error(`provision: ${res.status} ${await res.text()}`)
  return { session: started.cookie, log: [adminApi, orgToken, started.state, ticket] }
}

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

/** Runs the onboarding API flow for a tenant as its admin: start, consent (granted in the emulator), callback, provision. */
export async function onboard(
  t: Awaited<ReturnType<typeof startTestApp>>,
  tenantId: string,
  adminObjectId: string,
): Promise<{ session: string; log: string[] }> {
  const { running, emulator } = t
  const orgUrl = t.org(tenantId).url
  const start = await running.app.request('/api/onboarding/start', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ orgUrl }),
  })
  if (start.status !== 200) throw new Error(`start: ${start.status} ${await start.text()}`)
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  const { consentUrl } = (await start.json()) as { consentUrl: string }
  const state = new URL(consentUrl).searchParams.get('state') ?? ''
  emulator.world.grantConsent(tenantId, appId)
  const cb = await running.app.request(
    `/onboarding/callback?admin_consent=True&tenant=${tenantId}&state=${encodeURIComponent(state)}`,
    { headers: { Cookie: cookie } },
  )
  const location = cb.headers.get('location') ?? ''
  if (!location.includes('step=provision')) throw new Error(`callback: ${location}`)
  const adminApi = await t.userToken(adminObjectId)
  const orgToken = await emulator.world.mintUserAccessToken({
    userObjectId: adminObjectId,
    appId,
    resource: orgUrl,
  })
  const res = await running.app.request('/api/onboarding/provision', {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminApi}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ dataverseToken: orgToken }),
  })
  if (res.status !== 200) throw new Error(`provision: ${res.status} ${await res.text()}`)
  return { session: cookie, log: [adminApi, orgToken, state] }
}

// managedIdentityFederation() end to end against the emulator over HTTPS: the emulated App Service identity endpoint
// (IDENTITY_ENDPOINT + IDENTITY_HEADER) issues the managed identity's token for api://AzureADTokenExchange, the
// provider presents it as the multi-tenant app's client assertion, and the emulated Entra ID accepts it only when a
// federated identity credential on the app matches (issuer, subject, audience).
import { randomUUID } from 'node:crypto'
import { defaultIds, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Cloud,
  createTokenProvider,
  defineCloud,
  type Logger,
  managedIdentityFederation,
  TokenError,
  tokenExchangeAudience,
} from '../src/index.ts'
import { send } from '../src/internal/http.ts'

const ids = defaultIds
let emu: EmulatorHandle
let cloud: Cloud
const saved = { endpoint: process.env['IDENTITY_ENDPOINT'], header: process.env['IDENTITY_HEADER'] }
const logLines: string[] = []
const logger: Logger = {
  debug: (m, f) => logLines.push(`${m} ${JSON.stringify(f ?? {})}`),
  info: (m, f) => logLines.push(`${m} ${JSON.stringify(f ?? {})}`),
  warn: (m, f) => logLines.push(`${m} ${JSON.stringify(f ?? {})}`),
  error: (m, f) => logLines.push(`${m} ${JSON.stringify(f ?? {})}`),
}

beforeAll(async () => {
  emu = await startEmulator({ port: 0 })
  cloud = defineCloud({ name: 'emulator', authorityHost: emu.url })
  process.env['IDENTITY_ENDPOINT'] = `${emu.url}/msi/token`
  process.env['IDENTITY_HEADER'] = 'emulator-identity-header'
})
afterAll(async () => {
  if (saved.endpoint === undefined) delete process.env['IDENTITY_ENDPOINT']
  else process.env['IDENTITY_ENDPOINT'] = saved.endpoint
  if (saved.header === undefined) delete process.env['IDENTITY_HEADER']
  else process.env['IDENTITY_HEADER'] = saved.header
  await emu?.stop()
})

const org = (tenantId: string) => emu.orgs.find((o) => o.tenantId === tenantId)!.url
/** A user-assigned identity in the ISV tenant; with `trust`, a FIC on the app names it. */
function identity(fic?: { subject?: string; audiences?: string[]; issuer?: string }) {
  const mi = emu.admin.addManagedIdentity({ tenantId: ids.isvTenantId })
  if (fic)
    emu.admin.addFederatedCredential(ids.multiTenantAppId, {
      issuer: fic.issuer ?? `${emu.url}/${ids.isvTenantId}/v2.0`,
      subject: fic.subject ?? mi.objectId,
      ...(fic.audiences ? { audiences: fic.audiences } : {}),
    })
  return mi
}
const provider = (miClientId: string) =>
  createTokenProvider({
    clientId: ids.multiTenantAppId,
    credential: managedIdentityFederation({ clientId: miClientId }),
    cloud,
    http: { ca: emu.caCertPem },
    logger,
  })
const refusal = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(TokenError)
  return e as TokenError
}

describe('managedIdentityFederation', () => {
  it('gets app tokens for two customer tenants with the MI token as assertion (one MI request), and calls WhoAmI', async () => {
    const mi = identity({})
    emu.admin.grantConsent(ids.fabrikamTenantId, ids.multiTenantAppId)
    emu.admin.createApplicationUser(ids.fabrikamOrgId, ids.multiTenantAppId, ['System Administrator'])
    const tokens = provider(mi.clientId)
    const before = emu.admin.counters().totals.tokenRequests
    const contoso = await tokens.getToken({
      tenantId: ids.contosoTenantId,
      resource: org(ids.contosoTenantId),
    })
    const fabrikam = await tokens.getToken({
      tenantId: ids.fabrikamTenantId,
      resource: org(ids.fabrikamTenantId),
    })
    for (const [t, tid] of [
      [contoso, ids.contosoTenantId],
      [fabrikam, ids.fabrikamTenantId],
    ] as const) {
      const claims = decodeJwt(t.token)
      expect(claims['tid']).toBe(tid)
      expect(claims['appid'] ?? claims['azp']).toBe(ids.multiTenantAppId)
    }
    // two app-token requests, and the MI token came once (MSAL's managed identity cache)
    const after = emu.admin.counters().totals.tokenRequests
    expect(after - before).toBe(2)
    const issued = () =>
      emu.admin.listManagedIdentities().find((i) => i.clientId === mi.clientId)!.tokensIssued
    expect(issued()).toBe(1)
    // a third tenant-resource pair, still no new MI token
    await tokens
      .getToken({ tenantId: ids.contosoTenantId, resource: `${org(ids.contosoTenantId)}/x` })
      .catch(() => {})
    expect(issued()).toBe(1)
    const whoAmI = await send(
      `${org(ids.fabrikamTenantId)}/api/data/v9.2/WhoAmI`,
      { headers: { authorization: `Bearer ${fabrikam.token}`, accept: 'application/json' } },
      { ca: emu.caCertPem },
    )
    expect(whoAmI.status).toBe(200)
    expect(JSON.parse(whoAmI.text).UserId).toMatch(/^[0-9a-f-]{36}$/)
    expect(logLines.join('\n')).not.toContain(contoso.token)
  })

  it('is refused with a fix message when no FIC trusts the identity, or its subject or audience differ', async () => {
    const none = identity()
    const wrongSubject = identity({ subject: randomUUID() })
    const wrongAudience = identity({ audiences: ['api://SomethingElse'] })
    const cases: [string, number][] = [
      [none.clientId, 700213],
      [wrongSubject.clientId, 700213],
      [wrongAudience.clientId, 700212],
    ]
    for (const [clientId, aadsts] of cases) {
      const e = await refusal(
        provider(clientId).getToken({ tenantId: ids.contosoTenantId, resource: org(ids.contosoTenantId) }),
      )
      expect(e.code).toBe('INVALID_CLIENT_ASSERTION')
      expect(e.details.aadsts).toBe(aadsts)
      expect(e.message).toContain('federated identity credential')
      expect(e.message).not.toMatch(/eyJ[\w-]+\.eyJ/)
    }
  })

  it('an app with no FIC at all refuses the MI token with AADSTS70021', async () => {
    const app = await emu.admin.createApp({
      displayName: 'No FIC',
      signInAudience: 'AzureADMultipleOrgs',
      homeTenantId: ids.isvTenantId,
    })
    emu.admin.grantConsent(ids.contosoTenantId, app.appId)
    const mi = identity()
    const e = await refusal(
      createTokenProvider({
        clientId: app.appId,
        credential: managedIdentityFederation({ clientId: mi.clientId }),
        cloud,
        http: { ca: emu.caCertPem },
      }).getToken({ tenantId: ids.contosoTenantId, resource: org(ids.contosoTenantId) }),
    )
    expect(e.details.aadsts).toBe(70021)
    expect(e.message).toContain('add a federated identity credential')
  })

  it('an expired MI token is refused (AADSTS700024)', async () => {
    // the emulator's clock moves a day: the identity endpoint's token (24 h) has expired for Entra
    const mi = identity({})
    const tokens = provider(mi.clientId)
    await tokens.getToken({ tenantId: ids.contosoTenantId, resource: org(ids.contosoTenantId) })
    const decoded = emu.admin.listManagedIdentities().find((i) => i.clientId === mi.clientId)!
    expect(decoded.tokensIssued).toBe(1)
    emu.admin.advanceClock(2 * 86_400)
    // MSAL's MI cache uses the real clock, so this provider still presents the old MI token: Entra refuses it
    const e = await refusal(
      tokens.getToken({ tenantId: ids.fabrikamTenantId, resource: org(ids.fabrikamTenantId) }),
    )
    expect(e.details.aadsts).toBe(700024)
    expect(e.code).toBe('INVALID_CLIENT_ASSERTION')
  })

  it('says the identity is not assigned when the endpoint does not know the client id', async () => {
    const e = await refusal(
      provider(randomUUID()).getToken({ tenantId: ids.contosoTenantId, resource: org(ids.contosoTenantId) }),
    )
    expect(e.code).toBe('MANAGED_IDENTITY_UNAVAILABLE')
    expect(e.message).toContain('assigned')
  })

  it('picks the token-exchange audience of the cloud', () => {
    expect(tokenExchangeAudience('public')).toBe('api://AzureADTokenExchange')
    expect(tokenExchangeAudience('gcc-high')).toBe('api://AzureADTokenExchangeUSGov')
    expect(tokenExchangeAudience('china')).toBe('api://AzureADTokenExchangeChina')
  })
})

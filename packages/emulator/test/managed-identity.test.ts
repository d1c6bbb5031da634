// The emulated managed identity endpoint (App Service and IMDS forms) and federated identity credential checks on
// the token endpoint, with raw HTTP.
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultIds, type EmulatorHandle, startEmulator } from '../src/index.ts'

const ids = defaultIds
let emulator: EmulatorHandle
let restoreDispatcher: () => void
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
  restoreDispatcher = emulator.trust.installGlobally()
})
afterAll(async () => {
  restoreDispatcher?.()
  await emulator?.stop()
})

const appService = (query: string, header = 'emulator-identity-header') =>
  fetch(`${emulator.url}/msi/token?api-version=2019-08-01&${query}`, {
    headers: { 'x-identity-header': header },
  })
const imds = (query: string, metadata = 'true') =>
  fetch(`${emulator.url}/metadata/identity/oauth2/token?api-version=2018-02-01&${query}`, {
    headers: { metadata },
  })
const exchange = (appId: string, assertion: string) =>
  fetch(`${emulator.url}/${ids.contosoTenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: appId,
      scope: `${emulator.orgs.find((o) => o.tenantId === ids.contosoTenantId)!.url}/.default`,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    }),
  })

describe('managed identity endpoint', () => {
  it('issues the identity token (iss, sub = object id, aud = resource) in both forms, and checks the headers', async () => {
    const system = emulator.admin.addManagedIdentity({ tenantId: ids.isvTenantId, systemAssigned: true })
    const user = emulator.admin.addManagedIdentity({ tenantId: ids.isvTenantId })
    const a = await appService('resource=api://AzureADTokenExchange')
    expect(a.status).toBe(200)
    const body = (await a.json()) as Record<string, string>
    const claims = decodeJwt(body['access_token']!)
    expect(claims).toMatchObject({
      aud: 'api://AzureADTokenExchange',
      iss: `${emulator.url}/${ids.isvTenantId}/v2.0`,
      sub: system.objectId,
      oid: system.objectId,
    })
    expect(body['client_id']).toBe(system.clientId)
    const b = await imds(`resource=api://AzureADTokenExchange&client_id=${user.clientId}`)
    expect(b.status).toBe(200)
    const imdsBody = (await b.json()) as Record<string, string>
    expect(decodeJwt(imdsBody['access_token']!).sub).toBe(user.objectId)
    expect(Number(imdsBody['expires_in'])).toBeGreaterThan(3600)
    expect((await appService('resource=x', 'wrong')).status).toBe(401)
    expect((await imds('resource=x', 'false')).status).toBe(400)
    expect((await imds(`resource=x&client_id=${crypto.randomUUID()}`)).status).toBe(400)
    expect((await imds('client_id=x')).status).toBe(400)
    const listed = emulator.admin.listManagedIdentities().find((i) => i.clientId === user.clientId)!
    expect(listed.tokensIssued).toBe(1)
  })

  it('accepts the identity token as client assertion only when a FIC matches issuer, subject and audience', async () => {
    const mi = emulator.admin.addManagedIdentity({ tenantId: ids.isvTenantId })
    const token = async () =>
      (
        (await (await imds(`resource=api://AzureADTokenExchange&client_id=${mi.clientId}`)).json()) as {
          access_token: string
        }
      ).access_token
    const codeOf = async (r: Response) => ((await r.json()) as { error_codes: number[] }).error_codes[0]
    // no FIC on the app at all
    expect(await codeOf(await exchange(ids.multiTenantAppId, await token()))).toBe(70021)
    emulator.admin.addFederatedCredential(ids.multiTenantAppId, {
      issuer: `${emulator.url}/${ids.isvTenantId}/v2.0`,
      subject: crypto.randomUUID(),
    })
    expect(await codeOf(await exchange(ids.multiTenantAppId, await token()))).toBe(700213)
    emulator.admin.addFederatedCredential(ids.multiTenantAppId, {
      issuer: 'https://elsewhere.example/v2.0',
      subject: mi.objectId,
    })
    expect(await codeOf(await exchange(ids.multiTenantAppId, await token()))).toBe(700213)
    emulator.admin.addFederatedCredential(ids.multiTenantAppId, {
      issuer: `${emulator.url}/${ids.isvTenantId}/v2.0`,
      subject: mi.objectId,
      audiences: ['api://Other'],
    })
    const wrongAudience = await exchange(ids.multiTenantAppId, await token())
    expect(wrongAudience.status).toBe(400)
    expect(await codeOf(wrongAudience)).toBe(700212)
    // the HTTP admin API adds the right one
    const added = await fetch(
      `${emulator.url}/_emulator/apps/${ids.multiTenantAppId}/federated-credentials`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ issuer: `${emulator.url}/${ids.isvTenantId}/v2.0`, subject: mi.objectId }),
      },
    )
    expect(added.status).toBe(201)
    const ok = await exchange(ids.multiTenantAppId, await token())
    expect(ok.status).toBe(200)
    const app = decodeJwt(((await ok.json()) as { access_token: string }).access_token)
    expect(app['tid']).toBe(ids.contosoTenantId)
    const expired = await token()
    emulator.admin.advanceClock(2 * 86_400)
    expect(await codeOf(await exchange(ids.multiTenantAppId, expired))).toBe(700024)
  })
})

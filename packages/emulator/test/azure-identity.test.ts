import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultIds, type EmulatorHandle, startEmulator } from '../src/index.ts'

// @azure/identity, the credential library of the Azure SDKs, against the emulator unchanged: a third-party client of
// its Entra ID. It needs `authorityHost` and `disableInstanceDiscovery: true` (its option for authorities that
// Microsoft's public instance discovery does not know, as for ADFS or Azure Stack), and Node must trust the emulator's
// CA (NODE_EXTRA_CA_CERTS, read when the process starts: so the client runs in a child process).

let emulator: EmulatorHandle
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
})
afterAll(() => emulator?.stop())

const CHILD = `
import { ClientCertificateCredential, ClientSecretCredential, DefaultAzureCredential } from '@azure/identity'
const { authorityHost, tenantId, clientId, secret, certificate, orgUrl } = JSON.parse(process.env.SETUP)
const options = { authorityHost, disableInstanceDiscovery: true }
const credentials = {
  secret: new ClientSecretCredential(tenantId, clientId, secret, options),
  certificate: new ClientCertificateCredential(tenantId, clientId, { certificate }, options),
  default: new DefaultAzureCredential(options),
}
const out = {}
for (const [name, credential] of Object.entries(credentials)) {
  try {
    const { token, expiresOnTimestamp } = await credential.getToken(orgUrl + '/.default')
    const whoAmI = await fetch(orgUrl + '/api/data/v9.2/WhoAmI', { headers: { authorization: 'Bearer ' + token } })
    out[name] = { token, expiresOnTimestamp, whoAmI: whoAmI.status, body: await whoAmI.json() }
  } catch (error) {
    out[name] = { error: String(error?.message ?? error).slice(0, 300) }
  }
}
console.log(JSON.stringify(out))
`

describe('@azure/identity against the emulator', () => {
  it('gets app-only tokens with a secret, a certificate and DefaultAzureCredential (environment), and Dataverse takes them', async () => {
    const org = emulator.orgs.find((o) => o.tenantId === defaultIds.contosoTenantId)
    const app = emulator.apps.find((a) => a.appId === defaultIds.multiTenantAppId)
    const cert = app?.certificates[0]
    if (!org || !cert?.privateKeyPem)
      throw new Error('the default world has Contoso’s org and the app’s certificate')
    const setup = {
      authorityHost: emulator.url,
      tenantId: defaultIds.contosoTenantId,
      clientId: defaultIds.multiTenantAppId,
      secret: defaultIds.multiTenantAppSecret,
      certificate: `${cert.certificatePem}\n${cert.privateKeyPem}`,
      orgUrl: org.url,
    }
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', CHILD], {
      cwd: new URL('..', import.meta.url).pathname,
      env: {
        ...process.env,
        SETUP: JSON.stringify(setup),
        NODE_EXTRA_CA_CERTS: emulator.trust.caBundlePath,
        // DefaultAzureCredential's environment credential
        AZURE_TENANT_ID: setup.tenantId,
        AZURE_CLIENT_ID: setup.clientId,
        AZURE_CLIENT_SECRET: setup.secret,
        AZURE_AUTHORITY_HOST: emulator.url,
      },
      timeout: 60_000,
    })
    const results = JSON.parse(stdout) as Record<
      string,
      {
        token?: string
        expiresOnTimestamp?: number
        whoAmI?: number
        body?: { UserId?: string }
        error?: string
      }
    >
    for (const name of ['secret', 'certificate', 'default']) {
      const r = results[name]
      expect(r?.error, name).toBeUndefined()
      const claims = decodeJwt(r?.token ?? '')
      expect(claims.aud, name).toBe(org.url)
      expect(claims['tid'], name).toBe(defaultIds.contosoTenantId)
      expect(claims['appid'], name).toBe(defaultIds.multiTenantAppId)
      // the SDK counts expires_in from its own clock: within a few seconds of the token's exp
      expect(Math.abs((r?.expiresOnTimestamp ?? 0) - (claims.exp as number) * 1000), name).toBeLessThan(5_000)
      expect(r?.whoAmI, name).toBe(200)
      expect(r?.body?.UserId, name).toMatch(/^[0-9a-f-]{36}$/)
    }
  }, 90_000)
})

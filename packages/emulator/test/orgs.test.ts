import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfidentialClientApplication } from '@azure/msal-node'
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

const orgOf = (tenantId: string) => emulator.orgs.find((o) => o.tenantId === tenantId)!

async function appToken(tenantId: string): Promise<string> {
  const cca = new ConfidentialClientApplication({
    auth: {
      clientId: ids.multiTenantAppId,
      clientSecret: ids.multiTenantAppSecret,
      ...emulator.msalAuth(tenantId),
    },
  })
  const result = await cca.acquireTokenByClientCredential({ scopes: [`${orgOf(tenantId).url}/.default`] })
  return result!.accessToken
}

describe('orgs served by startEmulator', () => {
  it('serves each org at the root of its own origin with the tenant challenge', async () => {
    const contoso = orgOf(ids.contosoTenantId)
    const fabrikam = orgOf(ids.fabrikamTenantId)
    expect(contoso.url).toMatch(/^https:\/\/localhost:\d+$/)
    expect(new URL(contoso.url).port).not.toBe(new URL(fabrikam.url).port)
    const res = await fetch(`${contoso.url}/api/data/v9.2/`)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toContain(
      `authorization_uri=${emulator.url}/${ids.contosoTenantId}/oauth2/authorize`,
    )
  })

  it('lists tenants, orgs, users and apps on the home page', async () => {
    const html = await (await fetch(`${emulator.url}/`)).text()
    expect(html).toContain(orgOf(ids.contosoTenantId).url)
    expect(html).toContain('alice@contoso.onmicrosoft.com')
    expect(html).toContain('Litware Connector')
  })

  it('answers WhoAmI for the onboarded tenant with a token from msal-node', async () => {
    const contoso = orgOf(ids.contosoTenantId)
    const res = await fetch(`${contoso.url}/api/data/v9.2/WhoAmI`, {
      headers: { authorization: `Bearer ${await appToken(ids.contosoTenantId)}` },
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { UserId: string; OrganizationId: string }
    expect(body.OrganizationId).toBe(contoso.id)
  })

  it('onboards Fabrikam through the admin API: consent, then the application user', async () => {
    const fabrikam = orgOf(ids.fabrikamTenantId)
    emulator.admin.grantConsent(ids.fabrikamTenantId, ids.multiTenantAppId)
    try {
      const token = await appToken(ids.fabrikamTenantId)
      const before = await fetch(`${fabrikam.url}/api/data/v9.2/WhoAmI`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(before.status).toBe(403)
      expect(((await before.json()) as { error: { code: string } }).error.code).toBe('0x80072560')
      emulator.admin.createApplicationUser(fabrikam.id, ids.multiTenantAppId, ['Dataverse S2S Connector'])
      const after = await fetch(`${fabrikam.url}/api/data/v9.2/WhoAmI`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(after.status).toBe(200)
      expect(
        emulator.admin.counters().dataverseRequests.some((r) => r.orgId === fabrikam.id && r.status === 200),
      ).toBe(true)
    } finally {
      await emulator.admin.reset()
    }
    expect(emulator.world.getServicePrincipal(ids.fabrikamTenantId, ids.multiTenantAppId)).toBeUndefined()
  })

  it('the Global Discovery Service says per instance whether the user is a System Administrator in it', async () => {
    const instances = async (userObjectId: string) => {
      const token = await emulator.world.mintUserAccessToken({
        userObjectId,
        appId: ids.multiTenantAppId,
        resource: 'https://globaldisco.crm.dynamics.com',
      })
      const res = await fetch(
        `${emulator.url}/api/discovery/v2.0/Instances?$select=UniqueName,IsUserSysAdmin`,
        {
          headers: { Authorization: `Bearer ${token}` },
        },
      )
      return ((await res.json()) as { value: unknown[] }).value
    }
    expect(await instances(ids.users.contosoAdmin)).toEqual([{ UniqueName: 'contoso', IsUserSysAdmin: true }])
    expect(await instances(ids.users.contosoAlice)).toEqual([
      { UniqueName: 'contoso', IsUserSysAdmin: false },
    ])
  })

  it('creates an org at run time on a new origin', async () => {
    const tenant = emulator.admin.createTenant({ displayName: 'Northwind' })
    emulator.admin.grantConsent(tenant.id, ids.multiTenantAppId)
    const org = await emulator.admin.createOrg({ uniqueName: 'northwind', tenantId: tenant.id })
    expect(emulator.orgs.map((o) => o.url)).toContain(org.url)
    const token = await appToken(tenant.id)
    const res = await fetch(`${org.url}/api/data/v9.2/WhoAmI`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(res.status).toBe(200)
    await emulator.admin.reset()
    expect(emulator.orgs.map((o) => o.url)).not.toContain(org.url)
  })
})

describe('persistence', () => {
  it('keeps the CA, the world and the data across a restart of the same state folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emulator-state-'))
    try {
      const first = await startEmulator({ port: 0, stateDir: dir })
      const contoso = first.orgs.find((o) => o.tenantId === ids.contosoTenantId)!
      const before = first.admin.org(contoso.id).data.count('account')
      first.admin.insertRows(contoso.id, 'account', [{ name: 'Persisted Ltd' }])
      const tenant = first.admin.createTenant({ displayName: 'Tailspin' })
      const ca = first.caCertPem
      const kid = first.world.signingKeys.currentKid
      await first.stop()

      const second = await startEmulator({ port: 0, stateDir: dir })
      try {
        expect(second.caCertPem).toBe(ca)
        expect(second.world.signingKeys.currentKid).toBe(kid)
        expect(second.tenants.map((t) => t.id)).toContain(tenant.id)
        const org = second.orgs.find((o) => o.tenantId === ids.contosoTenantId)!
        expect(second.admin.org(org.id).data.count('account')).toBe(before + 1)
        expect(second.trust.caBundlePath).toBe(join(dir, 'tls', 'ca-bundle.pem'))
      } finally {
        await second.stop()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
  it('after a restart, a new org without a port skips the ports of orgs loaded from state (issue 13, item 11)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emulator-state-'))
    const port = await freePort()
    try {
      const first = await startEmulator({ port, stateDir: dir })
      const used = first.orgs.map((o) => Number(new URL(o.url).port))
      await first.stop()
      const second = await startEmulator({ port, stateDir: dir })
      try {
        const org = await second.admin.createOrg({ uniqueName: 'restarted', tenantId: ids.contosoTenantId })
        const newPort = Number(new URL(org.url).port)
        expect(used).not.toContain(newPort)
        expect(newPort).toBeGreaterThan(port)
      } finally {
        await second.stop()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

/** A port that was free a moment ago, with the next few free too (the emulator's orgs take port + 1 up). */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000)
    const ok = await Promise.all([0, 1, 2, 3, 4, 5, 6].map((i) => canListen(base + i)))
    if (ok.every(Boolean)) return base
  }
  throw new Error('no free port range found')
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

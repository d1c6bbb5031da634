import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfidentialClientApplication } from '@azure/msal-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultIds, type EmulatorHandle, type EmulatorInfo, startEmulator } from '../src/index.ts'

const ids = defaultIds
let emulator: EmulatorHandle
let restoreDispatcher: () => void

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, faultSeed: 3 })
  restoreDispatcher = emulator.trust.installGlobally()
})
afterAll(async () => {
  restoreDispatcher?.()
  await emulator?.stop()
})

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${emulator.url}/_emulator${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...init.headers },
  })
const orgOf = (tenantId: string) => emulator.orgs.find((o) => o.tenantId === tenantId)!

async function contosoToken(): Promise<string> {
  const res = await fetch(`${emulator.url}/${ids.contosoTenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: ids.multiTenantAppId,
      client_secret: ids.multiTenantAppSecret,
      scope: `${orgOf(ids.contosoTenantId).url}/.default`,
    }),
  })
  return ((await res.json()) as { access_token: string }).access_token
}

describe('admin API over HTTP', () => {
  it('creates a tenant, an app, a user and consent, and counts token requests', async () => {
    const tenant = (await (
      await admin('/tenants', { method: 'POST', body: JSON.stringify({ displayName: 'Adatum' }) })
    ).json()) as { id: string; domain: string }
    expect(tenant.domain).toBe('adatum.onmicrosoft.com')
    const created = await admin('/apps', {
      method: 'POST',
      body: JSON.stringify({
        homeTenantId: tenant.id,
        displayName: 'Adatum Daemon',
        signInAudience: 'AzureADMultipleOrgs',
        secrets: ['s3cret-value'],
        certificates: [{ generate: true }],
      }),
    })
    expect(created.status).toBe(201)
    const app = (await created.json()) as { appId: string; certificates: { privateKeyPem: string }[] }
    expect(app.certificates[0]!.privateKeyPem).toContain('PRIVATE KEY')
    const user = await admin('/users', {
      method: 'POST',
      body: JSON.stringify({
        tenantId: tenant.id,
        userPrincipalName: 'ann@adatum.onmicrosoft.com',
        isTenantAdmin: true,
      }),
    })
    expect(user.status).toBe(201)
    const dup = await admin('/users', {
      method: 'POST',
      body: JSON.stringify({ tenantId: tenant.id, userPrincipalName: 'ann@adatum.onmicrosoft.com' }),
    })
    expect(dup.status).toBe(409)
    const bad = await admin('/tenants', { method: 'POST', body: '{nope' })
    expect(bad.status).toBe(400)

    expect(
      (
        await admin('/consents', {
          method: 'POST',
          body: JSON.stringify({ tenantId: ids.contosoTenantId, appId: app.appId }),
        })
      ).status,
    ).toBe(201)
    const cca = new ConfidentialClientApplication({
      auth: { clientId: app.appId, clientSecret: 's3cret-value', ...emulator.msalAuth(ids.contosoTenantId) },
    })
    await cca.acquireTokenByClientCredential({ scopes: [`${orgOf(ids.contosoTenantId).url}/.default`] })
    expect((await admin(`/consents/${ids.contosoTenantId}/${app.appId}`, { method: 'DELETE' })).status).toBe(
      204,
    )
    const counters = (await (await admin('/counters')).json()) as {
      tokenRequests: { tenantId: string; grantType: string; outcome: string; count: number }[]
    }
    expect(counters.tokenRequests).toContainEqual({
      tenantId: ids.contosoTenantId,
      grantType: 'client_credentials',
      outcome: 'success',
      count: 1,
    })
  })

  it('injects faults: Entra 503 for the next 2 requests, then Dataverse 429 with Retry-After, then a dropped connection', async () => {
    const fault = await admin('/faults', {
      method: 'POST',
      body: JSON.stringify({ scope: 'entra', kind: 'status', status: 503, next: 2, path: '/token' }),
    })
    expect(fault.status).toBe(201)
    const statuses: number[] = []
    for (let i = 0; i < 3; i++)
      statuses.push(
        (
          await fetch(`${emulator.url}/${ids.contosoTenantId}/oauth2/v2.0/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              grant_type: 'client_credentials',
              client_id: ids.multiTenantAppId,
              client_secret: ids.multiTenantAppSecret,
              scope: `${orgOf(ids.contosoTenantId).url}/.default`,
            }),
          })
        ).status,
      )
    expect(statuses).toEqual([503, 503, 200])
    emulator.admin.injectFault({ scope: 'entra', kind: '429', next: 1, retryAfterSeconds: 3 })
    const entra429 = await fetch(
      `${emulator.url}/${ids.contosoTenantId}/v2.0/.well-known/openid-configuration`,
    )
    expect(entra429.status).toBe(429)
    expect(entra429.headers.get('retry-after')).toBe('3')
    expect(((await entra429.json()) as { error_codes: number[] }).error_codes).toEqual([50196])

    const token = await contosoToken()
    const org = orgOf(ids.contosoTenantId)
    emulator.admin.injectFault({ scope: org.id, kind: '429', next: 1, retryAfterSeconds: 7 })
    const throttled = await fetch(`${org.url}/api/data/v9.2/WhoAmI`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(throttled.status).toBe(429)
    expect(throttled.headers.get('retry-after')).toBe('7')
    expect(((await throttled.json()) as { error: { code: string } }).error.code).toBe('0x80072322')

    emulator.admin.injectFault({ scope: org.id, kind: 'status', status: 503, next: 1, retryAfterSeconds: 2 })
    const unavailable = await fetch(`${org.url}/api/data/v9.2/WhoAmI`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(unavailable.status).toBe(503)
    expect(unavailable.headers.get('retry-after')).toBe('2')

    emulator.admin.injectFault({ scope: 'dataverse', kind: 'drop', next: 1 })
    await expect(
      fetch(`${org.url}/api/data/v9.2/WhoAmI`, { headers: { authorization: `Bearer ${token}` } }),
    ).rejects.toThrow()
    const ok = await fetch(`${org.url}/api/data/v9.2/WhoAmI`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(ok.status).toBe(200)
    expect((await admin('/faults', { method: 'DELETE' })).status).toBe(204)
  })

  it('loses a response after the write: `after` faults let the request change the org, then drop or fail it', async () => {
    const token = await contosoToken()
    const org = orgOf(ids.contosoTenantId)
    const create = (name: string) =>
      fetch(`${org.url}/api/data/v9.2/accounts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      })
    const accounts = () => emulator.admin.org(org.id).data.count('account')
    const start = accounts()
    const dropId = (
      (await (
        await admin('/faults', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ scope: org.id, kind: 'drop', after: true, next: 1, path: 'accounts' }),
        })
      ).json()) as { id: string }
    ).id
    expect(dropId).toBeTruthy()
    await expect(create('lost response (drop)')).rejects.toThrow()
    expect(accounts()).toBe(start + 1)
    emulator.admin.injectFault({
      scope: org.id,
      kind: 'status',
      status: 504,
      after: true,
      next: 1,
      path: 'accounts',
    })
    expect((await create('lost response (504)')).status).toBe(504)
    expect(accounts()).toBe(start + 2)
    emulator.admin.injectFault({ scope: org.id, kind: 'drop', next: 1, path: 'accounts' })
    await expect(create('dropped before')).rejects.toThrow()
    expect(accounts()).toBe(start + 2)
    expect(() => emulator.admin.injectFault({ scope: org.id, kind: '429', after: true })).toThrow(/after/)
  })

  it('rolls the signing key over: old tokens stay valid while the previous key is published', async () => {
    const org = orgOf(ids.contosoTenantId)
    const before = await contosoToken()
    const keysUrl = `${emulator.url}/common/discovery/v2.0/keys`
    expect(((await (await fetch(keysUrl)).json()) as { keys: unknown[] }).keys).toHaveLength(1)
    const rolled = await admin('/signing-keys/rollover', { method: 'POST' })
    expect(rolled.status).toBe(201)
    const jwks = (await (await fetch(keysUrl)).json()) as {
      keys: { kid: string; x5c: string[]; issuer: string }[]
    }
    expect(jwks.keys).toHaveLength(2)
    expect(jwks.keys[0]!.issuer).toBe(`${emulator.url}/{tenantid}/v2.0`)
    expect(
      (await fetch(`${org.url}/api/data/v9.2/WhoAmI`, { headers: { authorization: `Bearer ${before}` } }))
        .status,
    ).toBe(200)
    await emulator.admin.rolloverSigningKey({ retainPrevious: false })
    await expect(emulator.world.verifyJwt(before)).rejects.toThrow(/not signed by a published key/)
    // The org had verified (and cached) that token: with its key gone it is refused like any unknown token.
    expect(
      (await fetch(`${org.url}/api/data/v9.2/WhoAmI`, { headers: { authorization: `Bearer ${before}` } }))
        .status,
    ).toBe(401)
    expect(((await (await fetch(keysUrl)).json()) as { keys: unknown[] }).keys).toHaveLength(1)
    expect(
      (
        await fetch(`${org.url}/api/data/v9.2/WhoAmI`, {
          headers: { authorization: `Bearer ${await contosoToken()}` },
        })
      ).status,
    ).toBe(200)
  })

  it('sets the lifetime of app-only tokens, refusing nonsense, and reset restores the default', async () => {
    const lifetimeOf = async () => {
      const { exp, iat } = JSON.parse(
        Buffer.from((await contosoToken()).split('.')[1]!, 'base64url').toString(),
      )
      return exp - iat
    }
    expect(await lifetimeOf()).toBe(3599)
    const put = (seconds: unknown) =>
      admin('/token-lifetime', { method: 'PUT', body: JSON.stringify({ seconds }) })
    expect((await put(5)).status).toBe(204)
    expect(await lifetimeOf()).toBe(5)
    for (const bad of [0, -1, 1.5, 'soon', 86_401]) expect((await put(bad)).status).toBe(400)
    expect(await lifetimeOf()).toBe(5)
    await emulator.admin.reset()
    expect(await lifetimeOf()).toBe(3599)
  })

  it('starts with a token lifetime from the options, and refuses an invalid one', async () => {
    const short = await startEmulator({ port: 0, tokenLifetimeSeconds: 30 })
    try {
      const res = await fetch(`${short.url}/${ids.contosoTenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        dispatcher: short.trust.agent,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: ids.multiTenantAppId,
          client_secret: ids.multiTenantAppSecret,
          scope: `${short.orgs.find((o) => o.tenantId === ids.contosoTenantId)!.url}/.default`,
        }),
      } as RequestInit)
      expect(((await res.json()) as { expires_in: number }).expires_in).toBe(30)
    } finally {
      await short.stop()
    }
    await expect(startEmulator({ port: 0, tokenLifetimeSeconds: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
  })

  it('moves the clock forward: an issued token expires at the org at once, a new one works, reset goes back', async () => {
    const org = orgOf(ids.contosoTenantId).url
    const whoAmI = (token: string) =>
      fetch(`${org}/api/data/v9.2/WhoAmI`, { headers: { authorization: `Bearer ${token}` } })
    const token = await contosoToken()
    expect((await whoAmI(token)).status).toBe(200) // now also in the orgs' cache of verified tokens
    const clock = (advanceSeconds: unknown) =>
      admin('/clock', { method: 'POST', body: JSON.stringify({ advanceSeconds }) })
    const before = Date.now()
    const moved = await clock(3600)
    expect(moved.status).toBe(200)
    const state = (await moved.json()) as { now: string; offsetMs: number }
    expect(state.offsetMs).toBe(3_600_000)
    expect(Date.parse(state.now) - before).toBeGreaterThanOrEqual(3_600_000)
    const expired = await whoAmI(token)
    expect(expired.status).toBe(401)
    expect(expired.headers.get('www-authenticate')).toMatch(/^Bearer authorization_uri=/)
    // A token issued now is dated by the emulator's clock, and valid at the org.
    const fresh = await contosoToken()
    const { iat } = JSON.parse(Buffer.from(fresh.split('.')[1]!, 'base64url').toString()) as { iat: number }
    expect(iat * 1000).toBeGreaterThanOrEqual(before + 3_600_000 - 1000)
    expect((await whoAmI(fresh)).status).toBe(200)
    // In process too, by fractions of a second; never backwards.
    expect(emulator.admin.advanceClock(0.5).offsetMs).toBe(3_600_500)
    for (const bad of [-1, 'soon', null]) expect((await clock(bad)).status).toBe(400)
    expect(() => emulator.admin.advanceClock(Number.NaN)).toThrow(/forward/)
    expect(((await (await admin('/clock')).json()) as { offsetMs: number }).offsetMs).toBe(3_600_500)
    await emulator.admin.reset()
    expect(emulator.admin.clock().offsetMs).toBe(0)
    expect((await whoAmI(await contosoToken())).status).toBe(200)
  })

  it('resets to the state right after start', async () => {
    emulator.admin.createTenant({ displayName: 'Temporary' })
    expect((await admin('/reset', { method: 'POST' })).status).toBe(204)
    expect(emulator.tenants.map((t) => t.displayName)).not.toContain('Temporary')
    expect(emulator.admin.counters().totals.tokenRequests).toBe(0)
  })
})

describe('seed files and the CLI', () => {
  it('builds the world from a --seed JSON file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emulator-seed-'))
    const seed = {
      tenants: [
        {
          id: '11111111-2222-4333-8444-000000000001',
          displayName: 'Woodgrove',
          domain: 'woodgrove.onmicrosoft.com',
        },
      ],
      apps: [
        {
          appId: '11111111-2222-4333-8444-000000000002',
          homeTenantId: '11111111-2222-4333-8444-000000000001',
          displayName: 'Woodgrove Sync',
          secrets: ['wg-secret'],
        },
      ],
      users: [
        {
          tenantId: '11111111-2222-4333-8444-000000000001',
          userPrincipalName: 'it@woodgrove.onmicrosoft.com',
          isTenantAdmin: true,
        },
      ],
      orgs: [{ uniqueName: 'woodgrove', tenantId: '11111111-2222-4333-8444-000000000001' }],
    }
    const file = join(dir, 'seed.json')
    await writeFile(file, JSON.stringify(seed))
    const custom = await startEmulator({ port: 0, seed: file })
    try {
      expect(custom.tenants.map((t) => t.displayName)).toEqual(['Woodgrove'])
      const org = custom.orgs[0]!
      const cca = new ConfidentialClientApplication({
        auth: {
          clientId: '11111111-2222-4333-8444-000000000002',
          clientSecret: 'wg-secret',
          authority: custom.authority('woodgrove.onmicrosoft.com'),
          knownAuthorities: [custom.authorityHost],
        },
      })
      const restore = custom.trust.installGlobally()
      try {
        const r = await cca.acquireTokenByClientCredential({ scopes: [`${org.url}/.default`] })
        const who = await fetch(`${org.url}/api/data/v9.2/WhoAmI`, {
          headers: { authorization: `Bearer ${r!.accessToken}` },
        })
        expect(who.status).toBe(200)
      } finally {
        restore()
      }
    } finally {
      await custom.stop()
      await rm(dir, { recursive: true, force: true })
    }
    await expect(startEmulator({ port: 0, seed: join(dir, 'missing.json') })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
    await expect(
      startEmulator({
        port: 0,
        seed: {
          tenants: [{ displayName: 'X' }],
          orgs: [{ uniqueName: 'x', tenantId: 'missing.onmicrosoft.com' }],
        },
      }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(
      startEmulator({
        port: 0,
        seed: {
          tenants: [{ displayName: 'Y' }],
          orgs: [{ uniqueName: 'y', tenantId: 'y.onmicrosoft.com', dataverse: 'nonsense' as never }],
        },
      }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(startEmulator({ port: 0, seed: { tenants: 'nope' } as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
  })

  it('prints one JSON line with --json and stops on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emulator-cli-'))
    const child = spawn(
      process.execPath,
      [
        '--conditions=@dataverse-s2s/source',
        '--import',
        'tsx',
        'src/cli.ts',
        '--port',
        '0',
        '--json',
        '--state',
        dir,
      ],
      {
        cwd: join(import.meta.dirname, '..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString()
          const nl = out.indexOf('\n')
          if (nl >= 0) resolve(out.slice(0, nl))
        })
        child.once('exit', (code) => reject(new Error(`CLI exited with ${code}`)))
      })
      const info = JSON.parse(line) as EmulatorInfo
      expect(info.url).toMatch(/^https:\/\/localhost:\d+$/)
      expect(info.caCertPath).toBe(join(dir, 'tls', 'ca.pem'))
      expect(info.orgs).toHaveLength(2)
      expect(info.apps.find((a) => a.appId === ids.multiTenantAppId)?.secrets[0]?.value).toBe(
        ids.multiTenantAppSecret,
      )
      const exit = new Promise<number | null>((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      expect(await exit).toBe(0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
      await rm(dir, { recursive: true, force: true })
    }
  })
})

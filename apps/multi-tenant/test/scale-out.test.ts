import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { defaultIds, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Three API processes behind one (imaginary) balancer URL, on one Redis, one PostgreSQL and one emulator.
const ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const database = `dvs2s_mt_${randomBytes(6).toString('hex')}`
const appId = defaultIds.multiTenantAppId
let emulator: EmulatorHandle
const children: ChildProcess[] = []
let urls: string[] = []

async function pgAdmin(sql: string) {
  const c = new pg.Client({ connectionString: ADMIN_URL })
  try {
    await c.connect()
  } catch (cause) {
    throw new Error(
      `This test needs PostgreSQL at ${new URL(ADMIN_URL).host}: start it (node scripts/ensure-services.mjs).`,
      { cause },
    )
  }
  try {
    await c.query(sql)
  } finally {
    await c.end()
  }
}

function startInstance(env: Record<string, string>): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@dataverse-s2s/source',
      '--import',
      'tsx',
      fileURLToPath(new URL('./instance.ts', import.meta.url)),
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  children.push(child)
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error('an instance did not start within 60 s')), 60_000)
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n').find((l) => l.startsWith('{"port"'))
      if (line) {
        clearTimeout(timer)
        resolve(`http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`)
      }
    })
    child.once('exit', (code) => reject(new Error(`an instance exited with ${code}`)))
  })
}

beforeAll(async () => {
  await pgAdmin(`CREATE DATABASE ${database}`)
  emulator = await startEmulator({ port: 0 })
  emulator.world.setGroupMembershipClaims(appId, 'DirectoryRole')
  const db = new URL(ADMIN_URL)
  db.pathname = `/${database}`
  const env = {
    EMULATOR_URL: emulator.url,
    EMULATOR_CA: emulator.caCertPem,
    PUBLIC_URL: 'http://localhost:5999',
    STATE_SECRET: randomBytes(32).toString('base64url'),
    REDIS_URL,
    REDIS_PREFIX: `test:${randomUUID()}:`,
    TOKEN_CACHE_KEYS: `t:${randomBytes(32).toString('base64')}`,
    DATABASE_URL: db.href,
  }
  urls = await Promise.all([1, 2, 3].map(() => startInstance(env)))
}, 120_000)
afterAll(async () => {
  for (const c of children) c.kill('SIGTERM')
  await Promise.all(
    children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
  )
  await emulator?.stop()
  await pgAdmin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
})

const userToken = (userObjectId: string) =>
  emulator.world.mintUserAccessToken({ userObjectId, appId, resource: `api://${appId}` })

async function call(
  instance: number,
  path: string,
  token: string,
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`${urls[instance - 1]}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
    redirect: 'manual',
  })
}

describe('three instances of the multi-tenant API on Redis + PostgreSQL', () => {
  it('an admin starts onboarding on one instance and finishes on others', async () => {
    const fabrikam = emulator.orgs.find((o) => o.tenantId === defaultIds.fabrikamTenantId)
    if (!fabrikam) throw new Error('Fabrikam org missing')
    const admin = await userToken(defaultIds.users.fabrikamAdmin)
    const json = { 'content-type': 'application/json' }
    const started = await call(1, '/api/onboarding/start', admin, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ orgUrl: fabrikam.url }),
    })
    expect(started.status).toBe(200)
    const cookie = (started.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
    const state =
      new URL(((await started.json()) as { consentUrl: string }).consentUrl).searchParams.get('state') ?? ''
    emulator.world.grantConsent(defaultIds.fabrikamTenantId, appId)
    const back = await fetch(
      `${urls[1]}/onboarding/callback?admin_consent=True&tenant=${defaultIds.fabrikamTenantId}&state=${encodeURIComponent(state)}`,
      { headers: { cookie }, redirect: 'manual' },
    )
    expect(back.status).toBe(303)
    const ticket = new URLSearchParams((back.headers.get('location') ?? '').split('?')[1] ?? '').get('ticket')
    expect(ticket).toBeTruthy()
    const done = await call(3, '/api/onboarding/complete', admin, {
      method: 'POST',
      headers: { ...json, cookie },
      body: JSON.stringify({ ticket }),
    })
    expect(done.status).toBe(200)
    // the same state cannot be used again on any instance
    const replay = await fetch(
      `${urls[2]}/onboarding/callback?admin_consent=True&tenant=${defaultIds.fabrikamTenantId}&state=${encodeURIComponent(state)}`,
      { headers: { cookie }, redirect: 'manual' },
    )
    expect(
      new URLSearchParams((replay.headers.get('location') ?? '').split('?')[1] ?? '').get('ticket'),
    ).toBeNull()
    const orgToken = await emulator.world.mintUserAccessToken({
      userObjectId: defaultIds.users.fabrikamAdmin,
      appId,
      resource: fabrikam.url,
    })
    const provisioned = await call(2, '/api/onboarding/provision', admin, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ dataverseToken: orgToken }),
    })
    expect(provisioned.status).toBe(200)
  })

  it('a user signs in through instance 1, pages through instance 2 and edits through instance 3', async () => {
    const carol = await userToken(defaultIds.users.fabrikamCarol)
    const json = { 'content-type': 'application/json' }
    expect((await call(1, '/api/me', carol)).status).toBe(200)
    for (const name of ['Scale Out A', 'Scale Out B']) {
      const created = await call(1, '/api/tables/accounts', carol, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ name }),
      })
      expect(created.status).toBe(201)
    }
    const first = (await (
      await call(1, '/api/tables/accounts?pageSize=1&search=Scale%20Out', carol)
    ).json()) as {
      rows: { id: string; etag: string }[]
      next: string
    }
    const second = (await (
      await call(
        2,
        `/api/tables/accounts?pageSize=1&search=Scale%20Out&cursor=${encodeURIComponent(first.next)}`,
        carol,
      )
    ).json()) as { rows: { id: string; etag: string }[] }
    expect(second.rows).toHaveLength(1)
    expect(second.rows[0]?.id).not.toBe(first.rows[0]?.id)
    const row = second.rows[0] as { id: string; etag: string }
    const edited = await call(3, `/api/tables/accounts/${row.id}`, carol, {
      method: 'PATCH',
      headers: { ...json, 'if-match': row.etag },
      body: JSON.stringify({ name: 'Scale Out Edited' }),
    })
    expect(edited.status).toBe(200)
    const view = (await (await call(1, `/api/tables/accounts/${row.id}`, carol)).json()) as { name: string }
    expect(view.name).toBe('Scale Out Edited')
  })
})

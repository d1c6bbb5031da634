import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DoctorResult, runDoctor } from '../src/doctor/doctor.ts'
import { makeCertificate, startStandIn, writePem } from './stand-in.ts'

// The doctor against the emulator configured as a real tenant: its own app registration, none of the emulator's
// defaults, reached only through ENTRA_AUTHORITY_HOST and ENTRA_CA_FILE.
const dir = mkdtempSync(join(tmpdir(), 'mt-doctor-'))
const PUBLIC_URL = 'https://app.northwind.example'
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const DATABASE_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const good = makeCertificate(dir, 'good', { days: 365 })
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
let world: Awaited<ReturnType<typeof startStandIn>>
let base: Record<string, string>
const stateSecret = randomBytes(32).toString('base64url')
const cacheKey = randomBytes(32).toString('base64')

beforeAll(async () => {
  world = await startStandIn({ dir, publicUrl: PUBLIC_URL, certificate: good })
  base = {
    ENTRA_CLIENT_ID: world.appId,
    ENTRA_CLIENT_SECRET: world.secret,
    ENTRA_TENANT_ID: world.isv.id,
    ENTRA_AUTHORITY_HOST: world.emulator.url,
    ENTRA_CA_FILE: world.caFile,
    PUBLIC_URL,
    STATE_SECRET: stateSecret,
    DATA_DIR: dir,
  }
}, 120_000)
afterAll(async () => {
  await world?.emulator.stop()
})

const doctor = (env: Record<string, string | undefined>) =>
  runDoctor({ env: { ...base, ...env } as NodeJS.ProcessEnv, cwd: dir, timeoutMs: 3_000 })

const step = (r: DoctorResult, name: string) => {
  const found = r.results.find((x) => x.step === name)
  if (!found) throw new Error(`no step ${name} in\n${r.report}`)
  return found
}

/** Nothing secret in the report: the client secret, the state secret, the cache key, key material. */
function expectNoSecret(report: string, extra: string[] = []) {
  for (const s of [world.secret, stateSecret, cacheKey, ...extra]) expect(report).not.toContain(s)
  expect(report).not.toMatch(/PRIVATE KEY|eyJ[\w-]{10,}\.[\w-]{10,}/)
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const { port } = server.address() as { port: number }
  await new Promise((r) => server.close(r))
  return port
}

describe('multi-tenant doctor', () => {
  it('passes every step for a correct configuration with a client secret, Redis and PostgreSQL', async () => {
    const r = await doctor({ REDIS_URL, TOKEN_CACHE_KEYS: `k1:${cacheKey}`, DATABASE_URL })
    expect(r.exitCode, r.report).toBe(0)
    expect(r.results.map((x) => [x.step, x.status])).toEqual([
      ['settings', 'ok'],
      ['OIDC discovery', 'ok'],
      ['credential', 'ok'],
      ['redirect URIs', 'ok'],
      ['security role', 'ok'],
      ['certificate', 'skip'],
      ['Redis', 'ok'],
      ['PostgreSQL', 'ok'],
    ])
    // what must be registered, with the role and what happens without it
    expect(r.report).toContain(
      `Single-page application redirect URI ${PUBLIC_URL} and the Web redirect URI ${PUBLIC_URL}/onboarding/callback`,
    )
    expect(step(r, 'security role').detail).toContain('"Dataverse S2S Connector" (the default)')
    expect(step(r, 'security role').detail).toContain('ROLE_MISSING')
    expect(step(r, 'credential').detail).toContain(`https://graph.microsoft.com in tenant ${world.isv.id}`)
    expect(r.report).toContain('All checks passed.')
    expectNoSecret(r.report)
  })

  it('passes with the registered certificate instead of a secret', async () => {
    const r = await doctor({
      ENTRA_CLIENT_SECRET: undefined,
      ENTRA_CERTIFICATE_PATH: writePem(dir, 'good', good),
    })
    expect(r.exitCode, r.report).toBe(0)
    expect(step(r, 'credential')).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining('accepted the certificate'),
    })
    expect(step(r, 'certificate')).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/key matches, valid until .* \(36[45] days\)/),
    })
    expectNoSecret(
      r.report,
      good.privateKeyPem.split('\n').filter((l) => l.length > 20),
    )
  })

  it('fails a wrong secret with AADSTS7000215 and says to use the secret’s Value; the wrong secret is not printed', async () => {
    const wrong = `${world.secret.slice(0, 10)}-${randomBytes(12).toString('hex')}`
    const r = await doctor({ ENTRA_CLIENT_SECRET: wrong })
    expect(r.exitCode).toBe(1)
    expect(step(r, 'credential')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('INVALID_CLIENT_SECRET'),
      fix: expect.stringContaining("the secret's Value"),
    })
    expect(r.report).toContain('AADSTS7000215')
    expect(r.report).toMatch(/1 check failed/)
    expectNoSecret(r.report, [wrong])
  })

  it('fails an unknown client id (AADSTS700016) and a wrong home tenant, each with its fix', async () => {
    const unknown = await doctor({ ENTRA_CLIENT_ID: '0e4a3f3a-1111-4222-8333-944445555666' })
    expect(unknown.exitCode).toBe(1)
    expect(step(unknown, 'credential')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('APP_NOT_FOUND_IN_TENANT'),
      fix: expect.stringContaining('Application (client) id'),
    })
    const tenant = await doctor({ ENTRA_TENANT_ID: 'nowhere.onmicrosoft.com' })
    expect(tenant.exitCode).toBe(1)
    expect(step(tenant, 'OIDC discovery')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('ENTRA_TENANT_ID'),
    })
    const missing = await doctor({ ENTRA_TENANT_ID: undefined })
    expect(step(missing, 'credential')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('set ENTRA_TENANT_ID'),
    })
  })

  it('fails a certificate whose private key is another one, before Entra ID is asked', async () => {
    const other = makeCertificate(dir, 'other', { days: 365 })
    const path = writePem(dir, 'mismatch', {
      privateKeyPem: other.privateKeyPem,
      certificatePem: good.certificatePem,
    })
    const r = await doctor({ ENTRA_CLIENT_SECRET: undefined, ENTRA_CERTIFICATE_PATH: path })
    expect(r.exitCode).toBe(1)
    expect(step(r, 'certificate')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('does not belong to the certificate "CN=good"'),
      fix: expect.stringContaining('the key the certificate was made from'),
    })
    expect(step(r, 'credential')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('INVALID_CREDENTIAL'),
    })
    expectNoSecret(
      r.report,
      other.privateKeyPem.split('\n').filter((l) => l.length > 20),
    )
  })

  it('fails an expired certificate and warns about one with less than 30 days left', async () => {
    const expired = makeCertificate(dir, 'expired', { start: '20240101000000Z', end: '20240301000000Z' })
    await world.emulator.admin.addCredential(world.appId, { certificatePem: expired.certificatePem })
    const r = await doctor({
      ENTRA_CLIENT_SECRET: undefined,
      ENTRA_CERTIFICATE_PATH: writePem(dir, 'expired', expired),
    })
    expect(r.exitCode).toBe(1)
    expect(step(r, 'certificate')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('expired on 2024-03-01T00:00:00.000Z'),
      fix: expect.stringContaining('upload it to the app registration'),
    })
    const soon = makeCertificate(dir, 'soon', { days: 10 })
    await world.emulator.admin.addCredential(world.appId, { certificatePem: soon.certificatePem })
    const warned = await doctor({
      ENTRA_CLIENT_SECRET: undefined,
      ENTRA_CERTIFICATE_PATH: writePem(dir, 'soon', soon),
    })
    expect(warned.exitCode, warned.report).toBe(0)
    expect(step(warned, 'certificate')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('expires in 9 days'),
    })
    expect(step(warned, 'credential').status).toBe('ok')
  })

  it('fails a PUBLIC_URL with a trailing slash or plain http off localhost, and says what to set and register', async () => {
    const slash = await doctor({ PUBLIC_URL: `${PUBLIC_URL}/` })
    expect(slash.exitCode).toBe(1)
    expect(step(slash, 'redirect URIs')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('ends with a slash'),
      fix: expect.stringContaining(`set PUBLIC_URL=${PUBLIC_URL} `),
    })
    const http = await doctor({ PUBLIC_URL: 'http://app.northwind.example:8080' })
    expect(http.exitCode).toBe(1)
    expect(step(http, 'redirect URIs')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('set PUBLIC_URL=https://app.northwind.example:8080 '),
    })
    const local = await doctor({ PUBLIC_URL: 'http://localhost:5173' })
    expect(step(local, 'redirect URIs').status).toBe('ok')
  })

  it('fails an unreachable REDIS_URL or DATABASE_URL within the time limit, without printing their passwords', async () => {
    const port = await closedPort()
    const redisPassword = `pw-${randomBytes(8).toString('hex')}`
    const pgPassword = `pg-${randomBytes(8).toString('hex')}`
    const started = Date.now()
    const r = await doctor({
      REDIS_URL: `redis://:${redisPassword}@127.0.0.1:${port}`,
      TOKEN_CACHE_KEYS: `k1:${cacheKey}`,
      DATABASE_URL: `postgres://app:${pgPassword}@127.0.0.1:${port}/app`,
    })
    expect(Date.now() - started).toBeLessThan(15_000)
    expect(r.exitCode).toBe(1)
    expect(step(r, 'Redis')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining(`Redis at 127.0.0.1:${port} did not answer PING`),
      fix: expect.stringContaining('fix REDIS_URL'),
    })
    expect(step(r, 'PostgreSQL')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('fix DATABASE_URL'),
    })
    expectNoSecret(r.report, [redisPassword, pgPassword])
  })

  it('stops at settings that do not parse, and refuses the emulator mode (no app registration)', async () => {
    const bad = await doctor({ ENTRA_AUTHORITY_HOST: 'http://localhost:8443' })
    expect(bad.exitCode).toBe(1)
    expect(step(bad, 'settings')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('ENTRA_AUTHORITY_HOST must be an https origin'),
    })
    expect(bad.results).toHaveLength(2)
    const none = await doctor({ ENTRA_CLIENT_ID: undefined })
    expect(step(none, 'settings')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('set ENTRA_CLIENT_ID'),
    })
  })

  it('runs as `pnpm --filter multi-tenant run doctor`: reads .env from its folder, prints the report, exit 0, then 1 for a wrong secret', async () => {
    const appDir = fileURLToPath(new URL('..', import.meta.url))
    const script = (
      JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts.doctor
    expect(script).toBe('node --conditions=@dataverse-s2s/source --import tsx src/doctor/main.ts')
    // the script's own command, run from a folder holding only a .env (tsx and the entry resolved from the app)
    const args = ['--conditions=@dataverse-s2s/source', '--import', tsx, join(appDir, 'src/doctor/main.ts')]
    const run = (env: Record<string, string>) => {
      const cwd = mkdtempSync(join(tmpdir(), 'mt-doctor-run-'))
      writeFileSync(
        join(cwd, '.env'),
        Object.entries(env)
          .map(([k, v]) => `${k}=${v}\n`)
          .join(''),
      )
      return promisify(execFile)(process.execPath, args, {
        cwd,
        env: { PATH: process.env.PATH ?? '' },
        timeout: 60_000,
      }).then(
        (o) => ({ code: 0, out: o.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
      )
    }
    const ok = await run(base)
    expect(ok.code, ok.out).toBe(0)
    expect(ok.out).toContain('[ok  ] credential')
    const wrong = await run({ ...base, ENTRA_CLIENT_SECRET: 'wrong-secret-value-123' })
    expect(wrong.code).toBe(1)
    expect(wrong.out).toContain('[FAIL] credential')
    expect(wrong.out).not.toContain('wrong-secret-value-123')
    expectNoSecret(ok.out + wrong.out)
  }, 60_000)
})

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, loadEnvFile, parseEnvironments, wantsEmulator } from './config.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'st-config-'))
  await writeFile(join(dir, 'cert.pem'), '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n')
  await writeFile(join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n')
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const tenant = '2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d'
const client = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d'
const env = () => ({
  TENANT_ID: tenant,
  CLIENT_ID: client,
  CLIENT_CERTIFICATE_PATH: join(dir, 'cert.pem'),
  CLIENT_PRIVATE_KEY_PATH: join(dir, 'key.pem'),
  DATAVERSE_ENVIRONMENTS:
    'dev=https://contoso-dev.crm.dynamics.com/, prod=https://contoso.crm.dynamics.com/api/data/v9.2',
  SESSION_SECRET: 'x'.repeat(40),
})

describe('configuration', () => {
  it('runs on the emulator when nothing points at a real tenant, unless told otherwise', () => {
    expect(wantsEmulator({})).toBe(true)
    expect(wantsEmulator({ TENANT_ID: tenant })).toBe(false)
    expect(wantsEmulator({ TENANT_ID: tenant, USE_EMULATOR: 'true' })).toBe(true)
    expect(wantsEmulator({ USE_EMULATOR: 'false' })).toBe(false)
  })

  it('reads a real tenant: environments in order, origins only, defaults for the rest', () => {
    const config = loadConfig(env())
    expect(config.environments).toEqual([
      { name: 'dev', url: 'https://contoso-dev.crm.dynamics.com' },
      { name: 'prod', url: 'https://contoso.crm.dynamics.com' },
    ])
    expect(config.authorityHost).toBe('https://login.microsoftonline.com')
    expect(config.publicUrl).toBe('http://localhost:3001')
    expect(config.certificatePem).toMatch(/BEGIN CERTIFICATE/)
    expect(
      loadConfig({ ...env(), SESSION_SECRET: 'a'.repeat(32) + ',' + 'b'.repeat(32) }).sessionSecrets,
    ).toHaveLength(2)
  })

  it('names the variable that is wrong', () => {
    const cases: [Record<string, string | undefined>, RegExp][] = [
      [{ TENANT_ID: undefined }, /TENANT_ID is not set/],
      [{ TENANT_ID: 'contoso.onmicrosoft.com' }, /TENANT_ID must be the tenant GUID/],
      [{ CLIENT_ID: 'abc' }, /CLIENT_ID must be a GUID/],
      [{ CLIENT_CERTIFICATE_PATH: join(dir, 'missing.pem') }, /CLIENT_CERTIFICATE_PATH: cannot read/],
      [{ SESSION_SECRET: 'short' }, /SESSION_SECRET/],
      [{ SESSION_SECRET: undefined }, /SESSION_SECRET/],
      [{ DATAVERSE_ENVIRONMENTS: 'dev=http://insecure.example' }, /must be https/],
      [{ DATAVERSE_ENVIRONMENTS: 'https://no-name.example' }, /not name=url/],
      [{ DATAVERSE_ENVIRONMENTS: 'a=https://x.example,a=https://y.example' }, /listed twice/],
      [{ DATAVERSE_ENVIRONMENTS: ' , ' }, /empty/],
      [{ PORT: 'eighty' }, /PORT/],
    ]
    for (const [change, message] of cases) {
      expect(() => loadConfig({ ...env(), ...change }), String(message)).toThrow(message)
      expect(() => loadConfig({ ...env(), ...change })).toThrow(ConfigError)
    }
  })

  it('does not ask the job for web-only settings', () => {
    expect(() => loadConfig({ ...env(), SESSION_SECRET: undefined }, { purpose: 'job' })).not.toThrow()
  })

  it('parses environment lists', () => {
    expect(parseEnvironments('a=https://a.example')).toEqual([{ name: 'a', url: 'https://a.example' }])
    expect(() => parseEnvironments('bad name=https://a.example')).toThrow(/not name=url/)
  })

  it('reads .env without overriding variables already set', async () => {
    const file = join(dir, 'test.env')
    await writeFile(file, 'ST_TEST_NEW=from-file\nST_TEST_SET=from-file\n')
    process.env['ST_TEST_SET'] = 'from-environment'
    try {
      expect(loadEnvFile({ ENV_FILE: file })).toBe(file)
      expect(process.env['ST_TEST_NEW']).toBe('from-file')
      expect(process.env['ST_TEST_SET']).toBe('from-environment')
      expect(loadEnvFile({ ENV_FILE: 'none' })).toBeUndefined()
      expect(loadEnvFile({ ENV_FILE: join(dir, 'missing.env') })).toBeUndefined()
    } finally {
      delete process.env['ST_TEST_NEW']
      delete process.env['ST_TEST_SET']
    }
  })
})

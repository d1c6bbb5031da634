import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from './config.ts'

const dir = () => mkdtempSync(join(tmpdir(), 'mt-config-'))

describe('loadConfig', () => {
  it('runs on the emulator with zero configuration, on one origin, with a generated persistent state secret', () => {
    const cwd = dir()
    const config = loadConfig({}, cwd)
    expect(config).toMatchObject({
      mode: 'emulator',
      port: 5173,
      publicUrl: 'http://localhost:5173',
      apiScope: 'access_as_user',
      emulatorPort: 8443,
    })
    expect(config.entra).toBeUndefined()
    expect(config.stateSecret.length).toBeGreaterThanOrEqual(43)
    expect(readFileSync(join(cwd, '.data', 'state-secret'), 'utf8')).toBe(config.stateSecret)
    expect(loadConfig({}, cwd).stateSecret).toBe(config.stateSecret)
  })

  it('uses a real tenant when ENTRA_CLIENT_ID is set, with a secret or a certificate file', () => {
    const cwd = dir()
    const secret = loadConfig(
      {
        ENTRA_CLIENT_ID: 'c1',
        ENTRA_CLIENT_SECRET: 's3cr3t',
        PUBLIC_URL: 'https://app.example.com/',
        ENTRA_CLOUD: 'gcc-high',
      },
      cwd,
    )
    expect(secret).toMatchObject({ mode: 'entra', publicUrl: 'https://app.example.com' })
    expect(secret.entra).toEqual({ clientId: 'c1', clientSecret: 's3cr3t', cloud: 'gcc-high' })
    writeFileSync(join(cwd, 'app.pem'), 'PEM')
    const cert = loadConfig({ ENTRA_CLIENT_ID: 'c1', ENTRA_CERTIFICATE_PATH: 'app.pem' }, cwd)
    expect(cert.entra).toEqual({ clientId: 'c1', certificatePem: 'PEM', cloud: 'public' })
  })

  it('says which setting to fix', () => {
    const cwd = dir()
    expect(() => loadConfig({ ENTRA_CLIENT_ID: 'c1' }, cwd)).toThrow(
      /ENTRA_CLIENT_SECRET or ENTRA_CERTIFICATE_PATH/,
    )
    expect(() => loadConfig({ EMULATOR: 'false' }, cwd)).toThrow(/ENTRA_CLIENT_ID/)
    expect(() => loadConfig({ PORT: 'abc' }, cwd)).toThrow(/PORT/)
    expect(() => loadConfig({ EMULATOR_PORT: '8443x' }, cwd)).toThrow(/EMULATOR_PORT/)
    expect(() => loadConfig({ EMULATOR_PORT: '70000' }, cwd)).toThrow(/EMULATOR_PORT/)
    expect(() =>
      loadConfig({ ENTRA_CLIENT_ID: 'c1', ENTRA_CLIENT_SECRET: 'x', ENTRA_CLOUD: 'mars' }, cwd),
    ).toThrow(/ENTRA_CLOUD/)
  })

  it('points entra mode at a stand-in for Entra ID with ENTRA_AUTHORITY_HOST and ENTRA_CA_FILE (tests), and reads ENTRA_TENANT_ID', () => {
    const cwd = dir()
    writeFileSync(join(cwd, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
    const env = { ENTRA_CLIENT_ID: 'c1', ENTRA_CLIENT_SECRET: 's' }
    const config = loadConfig(
      {
        ...env,
        ENTRA_AUTHORITY_HOST: 'https://localhost:8443/',
        ENTRA_CA_FILE: 'ca.pem',
        ENTRA_TENANT_ID: 'isv.example',
      },
      cwd,
    )
    expect(config.entra).toMatchObject({
      authorityHost: 'https://localhost:8443',
      caPem: expect.stringContaining('BEGIN CERTIFICATE'),
      homeTenantId: 'isv.example',
    })
    for (const bad of ['http://localhost:8443', 'https://localhost:8443/tenant', 'localhost:8443']) {
      expect(() => loadConfig({ ...env, ENTRA_AUTHORITY_HOST: bad }, cwd)).toThrow(
        /ENTRA_AUTHORITY_HOST must be an https origin/,
      )
    }
    expect(() =>
      loadConfig({ ...env, ENTRA_AUTHORITY_HOST: 'https://localhost:8443', ENTRA_CLOUD: 'china' }, cwd),
    ).toThrow(/not both/)
    expect(() => loadConfig({ ...env, ENTRA_CA_FILE: 'missing.pem' }, cwd)).toThrow(/ENTRA_CA_FILE/)
    expect(loadConfig(env, cwd).entra).toEqual({ clientId: 'c1', clientSecret: 's', cloud: 'public' })
  })

  it('moves the emulator with EMULATOR_PORT, so a second copy can run beside the first', () => {
    expect(loadConfig({ EMULATOR_PORT: '9443', PORT: '5174' }, dir())).toMatchObject({
      emulatorPort: 9443,
      port: 5174,
      publicUrl: 'http://localhost:5174',
    })
  })

  it('scales out on Redis and PostgreSQL only when REDIS_URL / DATABASE_URL are set, with a shared secret and key', () => {
    const plain = loadConfig({}, dir())
    expect(plain.redis).toBeUndefined()
    expect(plain.databaseUrl).toBeUndefined()
    const scaled = loadConfig(
      {
        REDIS_URL: 'redis://127.0.0.1:6379',
        TOKEN_CACHE_KEYS: 'k1:AAAA',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/app',
        STATE_SECRET: 'shared',
      },
      dir(),
    )
    expect(scaled.redis).toEqual({ url: 'redis://127.0.0.1:6379', tokenCacheKeys: 'k1:AAAA' })
    expect(scaled.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/app')
    expect(() => loadConfig({ REDIS_URL: 'redis://x', STATE_SECRET: 's' }, dir())).toThrow(/TOKEN_CACHE_KEYS/)
    expect(() => loadConfig({ DATABASE_URL: 'postgres://x/y' }, dir())).toThrow(/STATE_SECRET/)
  })
})

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

  it('moves the emulator with EMULATOR_PORT, so a second copy can run beside the first', () => {
    expect(loadConfig({ EMULATOR_PORT: '9443', PORT: '5174' }, dir())).toMatchObject({
      emulatorPort: 9443,
      port: 5174,
      publicUrl: 'http://localhost:5174',
    })
  })
})

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { credentialsFromEnv } from './env.ts'
import { TokenError } from './errors.ts'

const dir = mkdtempSync(join(tmpdir(), 'core-env-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('credentialsFromEnv', () => {
  it('reads a secret, the client id and the tenant, ignoring empty values', async () => {
    await expect(
      credentialsFromEnv({
        DATAVERSE_CLIENT_ID: ' app ',
        DATAVERSE_CLIENT_SECRET: 's3cret',
        DATAVERSE_CERTIFICATE_PATH: '',
        DATAVERSE_TENANT_ID: 'tid',
      }),
    ).resolves.toEqual({ clientId: 'app', credential: { kind: 'secret', secret: 's3cret' }, tenantId: 'tid' })
  })

  it('reads a certificate and its key from PEM files', async () => {
    const cert = join(dir, 'cert.pem')
    const key = join(dir, 'key.pem')
    writeFileSync(cert, 'CERT')
    writeFileSync(key, 'KEY')
    const read = await credentialsFromEnv({
      DATAVERSE_CLIENT_ID: 'app',
      DATAVERSE_CERTIFICATE_PATH: cert,
      DATAVERSE_PRIVATE_KEY_PATH: key,
      DATAVERSE_CERTIFICATE_PASSPHRASE: 'pw',
    })
    expect(read.credential).toEqual({
      kind: 'certificate',
      certificate: 'CERT',
      privateKey: 'KEY',
      passphrase: 'pw',
    })
    expect(read.tenantId).toBeUndefined()
  })

  it.each([
    [{}, 'INVALID_OPTIONS', /DATAVERSE_CLIENT_ID/],
    [
      { DATAVERSE_CLIENT_ID: 'app' },
      'INVALID_OPTIONS',
      /DATAVERSE_CLIENT_SECRET or DATAVERSE_CERTIFICATE_PATH/,
    ],
    [
      { DATAVERSE_CLIENT_ID: 'app', DATAVERSE_CLIENT_SECRET: 'x', DATAVERSE_CERTIFICATE_PATH: 'y' },
      'INVALID_OPTIONS',
      /not both/,
    ],
    [
      { DATAVERSE_CLIENT_ID: 'app', DATAVERSE_CERTIFICATE_PATH: '/nonexistent/cert.pem' },
      'INVALID_CREDENTIAL',
      /ENOENT/,
    ],
  ])('refuses %j with %s', async (env, code, message) => {
    const err = await credentialsFromEnv(env).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TokenError)
    expect(err).toMatchObject({ code })
    expect((err as Error).message).toMatch(message)
  })

  it('never puts the secret in a message', async () => {
    const err = await credentialsFromEnv({
      DATAVERSE_CLIENT_SECRET: 'TOPSECRET',
      DATAVERSE_CERTIFICATE_PATH: 'p',
      DATAVERSE_CLIENT_ID: 'a',
    }).catch((e: Error) => e)
    expect(String((err as Error).message)).not.toContain('TOPSECRET')
  })
})

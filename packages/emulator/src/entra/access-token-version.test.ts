// An app registration that asks for v1.0 access tokens (manifest api.requestedAccessTokenVersion null or 1) gets
// them for its own API from either endpoint, over real HTTPS, with real MSAL.
import { randomUUID } from 'node:crypto'
import { ConfidentialClientApplication } from '@azure/msal-node'
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultIds, type EmulatorHandle, startEmulator } from '../index.ts'

const tid = defaultIds.contosoTenantId
let emulator: EmulatorHandle
let restore: () => void

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
  restore = emulator.trust.installGlobally()
})
afterAll(async () => {
  restore?.()
  await emulator?.stop()
})

const admin = (path: string, body: unknown) =>
  fetch(`${emulator.url}/_emulator${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

async function createApi(requestedAccessTokenVersion: unknown) {
  const appId = randomUUID()
  const secret = `secret-${randomUUID()}`
  const res = await admin('/apps', {
    appId,
    homeTenantId: tid,
    displayName: `API ${appId.slice(0, 8)}`,
    secrets: [secret],
    identifierUri: `api://${appId}`,
    exposedScopes: ['access_as_user'],
    ...(requestedAccessTokenVersion === undefined ? {} : { requestedAccessTokenVersion }),
  })
  return { res, appId, secret }
}

async function clientCredentialsToken(appId: string, secret: string, scope: string) {
  const cca = new ConfidentialClientApplication({
    auth: { clientId: appId, clientSecret: secret, ...emulator.msalAuth(tid) },
  })
  const result = await cca.acquireTokenByClientCredential({ scopes: [scope] })
  return result!.accessToken
}

async function verified(token: string) {
  const keys = (await (await fetch(`${emulator.url}/common/discovery/v2.0/keys`)).json()) as JSONWebKeySet
  return (await jwtVerify(token, createLocalJWKSet(keys))).payload
}

describe('requestedAccessTokenVersion set through the admin API', () => {
  it('gives v1.0 tokens for the app’s API, issued as the tenant’s v1 metadata says', async () => {
    const { res, appId, secret } = await createApi(1)
    expect(res.status).toBe(201)
    expect(await res.json()).toMatchObject({ appId, requestedAccessTokenVersion: 1 })
    const token = await clientCredentialsToken(appId, secret, `api://${appId}/.default`)
    const v1Metadata = (await (
      await fetch(`${emulator.url}/${tid}/.well-known/openid-configuration`)
    ).json()) as { issuer: string }
    expect(await verified(token)).toMatchObject({
      iss: v1Metadata.issuer,
      aud: `api://${appId}`,
      tid,
      appid: appId,
      appidacr: '1',
      ver: '1.0',
    })
    expect(v1Metadata.issuer).toBe(`${emulator.url}/${tid}/`)
    expect(decodeProtectedHeader(token).x5t).toBeDefined()
  })

  it('keeps v2.0 when the app does not ask, or asks for 2', async () => {
    for (const version of [undefined, 2]) {
      const { res, appId, secret } = await createApi(version)
      expect(res.status).toBe(201)
      const token = await clientCredentialsToken(appId, secret, `api://${appId}/.default`)
      expect(await verified(token)).toMatchObject({
        iss: `${emulator.url}/${tid}/v2.0`,
        aud: appId,
        azp: appId,
        ver: '2.0',
      })
    }
  })

  it('refuses a value the manifest cannot hold', async () => {
    const { res } = await createApi('1.0')
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } })
  })
})

// The verifier against v1.0 and v2.0 access tokens that the emulator issues for an app's own API: an app
// registration whose manifest leaves api.requestedAccessTokenVersion null or 1 gets v1.0 tokens.
import { ConfidentialClientApplication } from '@azure/msal-node'
import { defaultIds, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Cloud,
  createUserTokenVerifier,
  defineCloud,
  type UserTokenVerifierOptions,
  VerificationError,
} from '../src/index.ts'

const ids = defaultIds
const appId = ids.multiTenantAppId
const apiUri = `api://${appId}`
let emu: EmulatorHandle
let cloud: Cloud
let restoreFetch: () => void

beforeAll(async () => {
  emu = await startEmulator({ port: 0 })
  restoreFetch = emu.trust.installGlobally()
  cloud = defineCloud({ name: 'emulator', authorityHost: emu.url })
})
afterAll(async () => {
  restoreFetch?.()
  await emu?.stop()
})

const verifier = (extra: Partial<UserTokenVerifierOptions> = {}) =>
  createUserTokenVerifier({
    audience: [appId, apiUri],
    cloud,
    http: { ca: emu.caCertPem },
    isTenantAllowed: (t) => t === ids.contosoTenantId,
    requiredScopes: ['access_as_user'],
    ...extra,
  })
const both = (extra: Partial<UserTokenVerifierOptions> = {}) =>
  verifier({ tokenVersions: ['1.0', '2.0'], ...extra })

/** A user token for the API, issued while the API's manifest asks for `version`. */
async function aliceToken(version: 1 | 2): Promise<string> {
  emu.world.setRequestedAccessTokenVersion(appId, version)
  try {
    return await emu.world.mintUserAccessToken({
      userObjectId: ids.users.contosoAlice,
      appId,
      resource: apiUri,
    })
  } finally {
    emu.world.setRequestedAccessTokenVersion(appId, 2)
  }
}

async function refusal(p: Promise<unknown>): Promise<VerificationError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  )
  expect(e).toBeInstanceOf(VerificationError)
  return e as VerificationError
}

describe('user-token verifier with v1.0 and v2.0 tokens from the emulator', () => {
  it('accepts a v1.0 token when v1.0 is accepted, with the fields a v2.0 token gives', async () => {
    const token = await aliceToken(1)
    expect(decodeJwt(token)).toMatchObject({
      ver: '1.0',
      iss: `${emu.url}/${ids.contosoTenantId}/`,
      aud: apiUri,
    })
    const fromV1 = await both().verify(token)
    const fromV2 = await both().verify(await aliceToken(2))
    const same = {
      tenantId: ids.contosoTenantId,
      objectId: ids.users.contosoAlice,
      name: 'Alice Anderson',
      username: 'alice@contoso.onmicrosoft.com',
      clientId: appId,
      scopes: ['access_as_user'],
      roles: [],
    }
    expect(fromV1).toMatchObject({ ...same, tokenVersion: '1.0' })
    expect(fromV2).toMatchObject({ ...same, tokenVersion: '2.0' })
  })

  it('refuses a v1.0 token by default, saying how to fix it', async () => {
    const e = await refusal(verifier().verify(await aliceToken(1)))
    expect(e.code).toBe('UNSUPPORTED_TOKEN_VERSION')
    expect(e.message).toMatch(/requestedAccessTokenVersion.*2/)
    expect(e.message).toContain('tokenVersions')
    expect(e.message).not.toContain(emu.url) // says nothing about the token beyond its version
  })

  it('still accepts v2.0 tokens, by default and in the both-versions mode, and v1.0 only when listed', async () => {
    const v2 = await aliceToken(2)
    await expect(verifier().verify(v2)).resolves.toMatchObject({ tokenVersion: '2.0' })
    await expect(both().verify(v2)).resolves.toMatchObject({ tokenVersion: '2.0' })
    const only1 = verifier({ tokenVersions: ['1.0'] })
    await expect(only1.verify(await aliceToken(1))).resolves.toMatchObject({ tokenVersion: '1.0' })
    expect((await refusal(only1.verify(v2))).code).toBe('UNSUPPORTED_TOKEN_VERSION')
  })

  it('refuses a validly signed v1.0 token with a v2.0-style issuer, or another tenant’s issuer', async () => {
    const claims = decodeJwt(await aliceToken(1))
    const resign = (c: Record<string, unknown>) => emu.world.signingKeys.signJwt({ ...claims, ...c })
    const v2Style = await resign({ iss: `${emu.url}/${ids.contosoTenantId}/v2.0` })
    expect((await refusal(both().verify(v2Style))).code).toBe('INVALID_ISSUER')
    const fabrikamIssuer = await resign({ iss: `${emu.url}/${ids.fabrikamTenantId}/` })
    expect((await refusal(both().verify(fabrikamIssuer))).code).toBe('INVALID_ISSUER')
    const fabrikamTid = await resign({ tid: ids.fabrikamTenantId })
    expect((await refusal(both().verify(fabrikamTid))).code).toBe('INVALID_ISSUER')
    // and the re-signing itself is sound: the unchanged claims pass
    await expect(both().verify(await resign({}))).resolves.toMatchObject({ tokenVersion: '1.0' })
  })

  it('refuses a v1.0 token when only the client id is the audience (v1.0 carries the App ID URI)', async () => {
    const e = await refusal(both({ audience: appId }).verify(await aliceToken(1)))
    expect(e.code).toBe('INVALID_AUDIENCE')
    expect(e.message).toContain('App ID URI')
  })

  it('verifies a v1.0 app-only token that real MSAL got with client credentials', async () => {
    emu.world.setRequestedAccessTokenVersion(appId, 1)
    try {
      const cca = new ConfidentialClientApplication({
        auth: {
          clientId: appId,
          clientSecret: ids.multiTenantAppSecret,
          ...emu.msalAuth(ids.contosoTenantId),
        },
      })
      const result = await cca.acquireTokenByClientCredential({ scopes: [`${apiUri}/.default`] })
      const token = result?.accessToken ?? ''
      expect(decodeJwt(token)).toMatchObject({ ver: '1.0', idtyp: 'app' })
      expect((await refusal(both({ requiredScopes: [] }).verify(token))).code).toBe('WRONG_TOKEN_TYPE')
      const app = await both({ requiredScopes: [], tokenTypes: ['app'] }).verify(token)
      expect(app).toMatchObject({
        tokenType: 'app',
        tenantId: ids.contosoTenantId,
        clientId: appId,
        tokenVersion: '1.0',
        username: undefined,
        scopes: [],
      })
    } finally {
      emu.world.setRequestedAccessTokenVersion(appId, 2)
    }
  })
})

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { discoverTenant, parseBearerChallenge } from './discovery.ts'

describe('parseBearerChallenge', () => {
  it('reads Dataverse’s challenge (unquoted values, any case)', () => {
    expect(
      parseBearerChallenge(
        'Bearer authorization_uri=https://login.microsoftonline.com/4baaeaaf-2f5e-4a3c-9c5a-2d0f6a1b2c3d/oauth2/authorize, resource_id=https://contoso.crm.dynamics.com/',
      ),
    ).toEqual({
      authorization_uri:
        'https://login.microsoftonline.com/4baaeaaf-2f5e-4a3c-9c5a-2d0f6a1b2c3d/oauth2/authorize',
      resource_id: 'https://contoso.crm.dynamics.com/',
    })
    expect(parseBearerChallenge('bearer Authorization_Uri="https://x/y", error="invalid_token"')).toEqual({
      authorization_uri: 'https://x/y',
      error: 'invalid_token',
    })
    expect(parseBearerChallenge('Basic realm="x"')).toBeUndefined()
  })

  it('never throws on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        parseBearerChallenge(s)
        parseBearerChallenge(`Bearer ${s}`)
      }),
    )
  })
})

describe('discoverTenant input checks', () => {
  it.each([
    'not a url',
    'http://contoso.crm.dynamics.com',
    'https://user:pw@contoso.crm.dynamics.com',
    'https://example.com',
  ])('refuses %s without any request', async (url) => {
    await expect(discoverTenant(url)).rejects.toMatchObject({ code: 'INVALID_ORG_URL' })
  })

  it('refuses an org URL that is not of the given cloud', async () => {
    await expect(
      discoverTenant('https://contoso.crm.dynamics.com', { cloud: 'china' }),
    ).rejects.toMatchObject({
      code: 'INVALID_ORG_URL',
    })
  })
})

import { describe, expect, it } from 'vitest'
import { createClientCache } from './dataverse.ts'

const TENANT = '11111111-2222-3333-4444-555555555555'

function cacheRecordingUrls() {
  const urls: string[] = []
  const tokenResources: string[] = []
  const cache = createClientCache({
    tokens: {
      getToken: async ({ resource }) => {
        tokenResources.push(resource)
        return { token: 't', expiresOn: new Date(Date.now() + 3_600_000) }
      },
      invalidate: () => {},
    },
    client: {
      fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
        urls.push(new Request(input, init).url)
        return Response.json({ UserId: 'u', BusinessUnitId: 'b', OrganizationId: 'o' })
      }) as typeof fetch,
    },
  })
  return { cache, urls, tokenResources }
}

describe('createClientCache', () => {
  it('keys clients by tenant AND org: a tenant whose org URL changed gets a client for the new org', async () => {
    const { cache, urls, tokenResources } = cacheRecordingUrls()
    const before = cache.get(TENANT, 'https://old.crm.dynamics.com')
    await before.whoAmI()
    const after = cache.get(TENANT, 'https://new.crm.dynamics.com')
    expect(after).not.toBe(before)
    await after.whoAmI()
    expect(urls.map((u) => new URL(u).origin)).toEqual([
      'https://old.crm.dynamics.com',
      'https://new.crm.dynamics.com',
    ])
    expect(tokenResources).toEqual(['https://old.crm.dynamics.com', 'https://new.crm.dynamics.com'])
    expect(cache.size).toBe(2)
  })

  it('reuses the client of the same tenant and org (tenant ids compared case-insensitively)', () => {
    const { cache } = cacheRecordingUrls()
    const a = cache.get(TENANT, 'https://org.crm.dynamics.com')
    expect(cache.get(TENANT.toUpperCase(), 'https://org.crm.dynamics.com')).toBe(a)
    expect(cache.get('22222222-2222-3333-4444-555555555555', 'https://org.crm.dynamics.com')).not.toBe(a)
  })

  it('delete drops only that tenant and org', () => {
    const { cache } = cacheRecordingUrls()
    const a = cache.get(TENANT, 'https://a.crm.dynamics.com')
    const b = cache.get(TENANT, 'https://b.crm.dynamics.com')
    cache.delete(TENANT, 'https://a.crm.dynamics.com')
    expect(cache.get(TENANT, 'https://b.crm.dynamics.com')).toBe(b)
    expect(cache.get(TENANT, 'https://a.crm.dynamics.com')).not.toBe(a)
  })
})

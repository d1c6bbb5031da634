import { defaultIds } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DataverseClient } from '../src/index.ts'
import { startWorld, type World } from './support.ts'

// client.search / suggest / autocomplete against the emulator's Dataverse search (Microsoft Learn, "Search for
// Dataverse records"): the real client, real tokens, the same pipeline and impersonation as every other call.
let world: World
let client: DataverseClient
beforeAll(async () => {
  world = await startWorld()
  client = world.appClient(world.contosoUrl, defaultIds.contosoTenantId)
  for (const [name, revenue] of [
    ['Quillfeather Search Alpha', 100],
    ['Quillfeather Search Beta', 900],
    ['Quillfeather Gamma', 500],
  ] as const) {
    await client.create('accounts', { name, revenue })
  }
})
afterAll(async () => {
  await world?.stop()
})

describe('Dataverse search through the client', () => {
  it('searches with entities, filter, orderBy, count and top and reads typed hits', async () => {
    const result = await client.search<{ name: string; revenue: number }>('quillfeather', {
      entities: [{ name: 'account', selectColumns: ['name', 'revenue'], searchColumns: ['name'] }],
      filter: 'revenue ge 500',
      orderBy: ['revenue desc'],
      count: true,
      top: 1,
    })
    expect(result.count).toBe(2)
    expect(result.hits).toHaveLength(1)
    expect(result.hits[0]).toMatchObject({
      entityName: 'account',
      attributes: { name: 'Quillfeather Search Beta', revenue: 900 },
      highlights: { name: ['{crmhit}Quillfeather{/crmhit} Search Beta'] },
    })
    expect(result.facets).toEqual({})
  })

  it('matches all terms with searchMode all', async () => {
    const result = await client.search('quillfeather search', { entities: ['account'], searchMode: 'all' })
    expect(result.hits.map((h) => h.attributes.name).sort()).toEqual([
      'Quillfeather Search Alpha',
      'Quillfeather Search Beta',
    ])
    expect(result.count).toBeUndefined()
  })

  it('suggests and autocompletes', async () => {
    const suggested = await client.suggest('Quillf', { entities: ['account'] })
    expect(suggested.suggestions).toHaveLength(3)
    expect(suggested.suggestions[0]?.text).toMatch(/^\{crmhit\}Quillf\{\/crmhit\}eather /)
    expect(suggested.suggestions[0]?.document['@search.entityname']).toBe('account')
    const completed = await client.autocomplete('quillfeather sea', { entities: ['account'] })
    expect(completed.value).toBe('quillfeather {crmhit}search{/crmhit}')
  })

  it('is trimmed to what the impersonated user reads', async () => {
    const alice = await client.as({ callerObjectId: defaultIds.users.contosoAlice }).search('quillfeather')
    expect(alice.hits).toHaveLength(3)
    const bob = await client.as({ callerObjectId: defaultIds.users.contosoBob }).search('quillfeather')
    expect(bob.hits).toEqual([])
  })

  it('turns a refused search into a typed error', async () => {
    const error = await client
      .search('x', { entities: [{ name: 'account', selectColumns: ['nosuchcolumn'] }] })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'BAD_REQUEST', status: 400, serviceCode: '0x80040203' })
  })
})

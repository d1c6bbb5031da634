import type { DynamicsWebApi } from 'dynamics-web-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWithDynamicsWebApi } from './dynamics-web-api-support.ts'

// dynamics-web-api 2.5, unchanged, on Dataverse search: with `searchApi: { version: '2.0' }` it posts to
// /api/search/v2.0/{query,suggest,autocomplete} with entities, orderby, facets and options as JSON text, and parses
// the `response` JSON text itself; by default it uses the legacy /api/search/v1.0 (arrays, returnTotalRecordCount,
// searchMode) and reads the plain answer.
let client: DynamicsWebApi
let stop: (() => Promise<void>) | undefined

beforeAll(async () => {
  ;({ client, stop } = await startWithDynamicsWebApi())
  client.setConfig({ searchApi: { version: '2.0' } })
  for (const name of ['Zyxadatum Search Alpha', 'Zyxadatum Search Beta', 'Qorvind Searchless']) {
    await client.create({ collection: 'accounts', data: { name } })
  }
})

afterAll(async () => {
  await stop?.()
})

describe('dynamics-web-api search against the emulator', () => {
  it('queries with entities, count, top, orderBy and options as it sends them', async () => {
    const result = await client.query({
      query: {
        search: 'zyxadatum',
        entities: [{ name: 'account', selectColumns: ['name'], searchColumns: ['name'] }],
        count: true,
        top: 1,
        orderBy: ['name desc'],
        options: { searchMode: 'all' },
      },
    })
    expect(result.response.Error).toBeNull()
    expect(result.response.Count).toBe(2)
    expect(result.response.Value).toHaveLength(1)
    expect(result.response.Value[0]).toMatchObject({
      EntityName: 'account',
      Attributes: { name: 'Zyxadatum Search Beta' },
      Highlights: { name: ['{crmhit}Zyxadatum{/crmhit} Search Beta'] },
    })
  })

  it('takes a bare term', async () => {
    const result = await client.query('Qorvind')
    expect(result.response.Value.map((v) => v.Attributes.name)).toContain('Qorvind Searchless')
  })

  it('suggests and autocompletes', async () => {
    const suggestions = await client.suggest({ query: { search: 'Zyxad', top: 5, entities: ['account'] } })
    expect(suggestions.response.Value.map((v) => v.Text).sort()).toEqual([
      '{crmhit}Zyxad{/crmhit}atum Search Alpha',
      '{crmhit}Zyxad{/crmhit}atum Search Beta',
    ])
    expect(suggestions.response.Value[0]?.Document['@search.entityname']).toBe('account')
    const completed = await client.autocomplete({ query: { search: 'zyxadatum sea', entities: ['account'] } })
    expect(completed.response.Value).toBe('zyxadatum {crmhit}search{/crmhit}')
  })

  it('uses the legacy v1.0 endpoints by default', async () => {
    client.setConfig({ searchApi: { version: '1.0' } })
    try {
      const result = await client.query({
        query: { search: 'zyxadatum', entities: ['account'], count: true, searchMode: 'all' },
      })
      expect(result.totalrecordcount).toBe(2)
      expect(result.value.map((v: Record<string, unknown>) => v.name).sort()).toEqual([
        'Zyxadatum Search Alpha',
        'Zyxadatum Search Beta',
      ])
      const suggestions = await client.suggest({ query: { search: 'Zyxad', entities: ['account'] } })
      expect(suggestions.value).toHaveLength(2)
      const completed = await client.autocomplete({ query: { search: 'qorv', entities: ['account'] } })
      expect(completed.value).toBe('{crmhit}qorvind{/crmhit}')
    } finally {
      client.setConfig({ searchApi: { version: '2.0' } })
    }
  })
})

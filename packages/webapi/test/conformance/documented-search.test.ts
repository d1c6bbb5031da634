import { describe, expect, it } from 'vitest'
import { isDataverseError } from '../../src/index.ts'
import { record } from './record.ts'
import type { Recorded, Reply } from './recording-server.ts'

// Dataverse search as Microsoft Learn documents it ("Search for Dataverse records", "Dataverse Search query",
// "Dataverse Search suggest", "Dataverse Search autocomplete"): each request is POSTed to
// [Organization URI]/api/search/v2.0/<operation> with the parameters as a JSON body (entities, facets, orderby and
// options as JSON text); the answer's `response` is JSON text. Bodies and answers below are the pages' examples.

const json = (body: object, status = 200): Reply => ({ status, body })
const bodyOf = (r: Recorded | undefined) => JSON.parse(r?.body ?? '{}') as Record<string, unknown>

// Learn, Dataverse Search query, Web API example response (the search 2.0 endpoint answers the same)
const queryAnswer = {
  '@odata.context': '[Organization Uri]/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.searchqueryResponse',
  response:
    '{"Error":null,"Value":[{"Id":"8b35eda1-ef69-ee11-9ae7-000d3a88a4a2","EntityName":"account","ObjectTypeCode":0,"Attributes":{"@search.objecttypecode":1,"name":"Contoso Pharmaceuticals (sample)","createdon":"2023-10-13T17:41:21Z","createdon@OData.Community.Display.V1.FormattedValue":"10/13/2023 5:41 PM"},"Highlights":{"name":["{crmhit}Contoso{/crmhit} Pharmaceuticals (sample)"]},"Score":4.95567}],"Facets":{},"QueryContext":null,"Count":1}',
}

describe('Dataverse Search query', () => {
  it('POST /api/search/v2.0/query with the entities parameter as the escaped JSON text of the example', async () => {
    const { requests, result, origin } = await record(
      () => json(queryAnswer),
      (c) =>
        c.search('maria', {
          entities: [
            {
              name: 'account',
              selectColumns: ['name', 'address1_city'],
              searchColumns: ['name', 'address1_city'],
              filter: 'modifiedon ge 2018-01-01T00:00:00Z',
            },
            {
              name: 'contact',
              selectColumns: ['fullname', 'address1_city'],
              searchColumns: ['fullname', 'address1_city'],
              filter: 'modifiedon ge 2018-01-01T00:00:00Z',
            },
          ],
        }),
    )
    const [r] = requests as [Recorded]
    expect(r.method).toBe('POST')
    expect(`${origin}${r.target}`).toBe(`${origin}/api/search/v2.0/query`)
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(r.headers.authorization).toBe('Bearer tok')
    expect(bodyOf(r)).toEqual({
      search: 'maria',
      entities:
        '[{"name":"account","selectColumns":["name","address1_city"],"searchColumns":["name","address1_city"],"filter":"modifiedon ge 2018-01-01T00:00:00Z"},{"name":"contact","selectColumns":["fullname","address1_city"],"searchColumns":["fullname","address1_city"],"filter":"modifiedon ge 2018-01-01T00:00:00Z"}]',
    })
    expect(result).toEqual({
      hits: [
        {
          id: '8b35eda1-ef69-ee11-9ae7-000d3a88a4a2',
          entityName: 'account',
          objectTypeCode: 0,
          attributes: {
            '@search.objecttypecode': 1,
            name: 'Contoso Pharmaceuticals (sample)',
            createdon: '2023-10-13T17:41:21Z',
            'createdon@OData.Community.Display.V1.FormattedValue': '10/13/2023 5:41 PM',
          },
          highlights: { name: ['{crmhit}Contoso{/crmhit} Pharmaceuticals (sample)'] },
          score: 4.95567,
        },
      ],
      count: 1,
      facets: {},
      queryContext: null,
    })
  })

  it('the facets parameter as the escaped JSON text of the example', async () => {
    const facets = [
      'entityname,count:100',
      'account:primarycontactid,count:100',
      'ownerid,count:100',
      'modifiedon,values:2019-04-27T00:00:00|2020-03-27T00:00:00|2020-04-20T00:00:00|2020-04-27T00:00:00',
      'createdon,values:2019-04-27T00:00:00|2020-03-27T00:00:00|2020-04-20T00:00:00|2020-04-27T00:00:00',
    ]
    const { requests } = await record(
      () => json(queryAnswer),
      (c) => c.search('maria', { facets }),
    )
    expect(requests[0]?.body).toBe(
      '{"search":"maria","facets":"[\\"entityname,count:100\\",\\"account:primarycontactid,count:100\\",\\"ownerid,count:100\\",\\"modifiedon,values:2019-04-27T00:00:00|2020-03-27T00:00:00|2020-04-20T00:00:00|2020-04-27T00:00:00\\",\\"createdon,values:2019-04-27T00:00:00|2020-03-27T00:00:00|2020-04-20T00:00:00|2020-04-27T00:00:00\\"]"}',
    )
  })

  it('top, skip, count, orderby (JSON text array), filter and options as the Web API example sends them', async () => {
    const { requests, result } = await record(
      () => json(queryAnswer),
      (c) =>
        c.search('Contoso', {
          top: 7,
          skip: 0,
          orderBy: ['createdon desc'],
          filter: 'createdon gt 2022-08-15',
          count: true,
          searchMode: 'all',
          queryType: 'lucene',
        }),
    )
    expect(bodyOf(requests[0])).toEqual({
      search: 'Contoso',
      orderby: '["createdon desc"]',
      filter: 'createdon gt 2022-08-15',
      count: true,
      top: 7,
      skip: 0,
      options: '{"searchmode":"all","querytype":"lucene"}',
    })
    expect((result as { count: number }).count).toBe(1)
  })

  it('Count -1 (count not asked for) reads as undefined', async () => {
    const { result } = await record(
      () => json({ response: '{"Error":null,"Value":[],"Facets":{},"QueryContext":null,"Count":-1}' }),
      (c) => c.search('x'),
    )
    expect(result).toEqual({ hits: [], count: undefined, facets: {}, queryContext: null })
  })

  it('search not enabled: 400 0x80048d0b is BAD_REQUEST with the service code (Learn: Search for Dataverse records)', async () => {
    const { result } = await record(
      () =>
        json(
          {
            error: {
              code: '0x80048d0b',
              message: 'Dataverse Search feature is disabled for this organization.',
            },
          },
          400,
        ),
      (c) => c.search('Contoso').catch((e: unknown) => e),
    )
    expect(isDataverseError(result)).toBe(true)
    expect(result).toMatchObject({ code: 'BAD_REQUEST', status: 400, serviceCode: '0x80048d0b' })
  })

  it('an Error inside the response text is a BAD_REQUEST carrying its code', async () => {
    const { result } = await record(
      () =>
        json({
          response:
            '{"Error":{"code":"InvalidFilter","message":"Invalid expression","propertybag":{}},"Value":null}',
        }),
      (c) => c.search('Contoso').catch((e: unknown) => e),
    )
    expect(result).toMatchObject({ code: 'BAD_REQUEST', serviceCode: 'InvalidFilter' })
  })

  it('refuses a term out of 1..100 characters and top over 100 before sending', async () => {
    const { requests, result } = await record(
      () => json(queryAnswer),
      async (c) => [
        await c.search('').catch((e: unknown) => e),
        await c.search('x'.repeat(101)).catch((e: unknown) => e),
        await c.search('x', { top: 101 }).catch((e: unknown) => e),
        await c.suggest('ab').catch((e: unknown) => e),
      ],
    )
    expect(requests).toHaveLength(0)
    for (const e of result as unknown[]) expect(e).toMatchObject({ code: 'INVALID_ARGUMENT' })
  })
})

describe('Dataverse Search suggest', () => {
  it('POST /api/search/v2.0/suggest with search and top; Text and Document from the response text', async () => {
    const { requests, result } = await record(
      () =>
        json({
          '@odata.context':
            '[Organization Uri]/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.searchsuggestResponse',
          response:
            '{"Error":null,"Value":[{"Text":"{crmhit}cont{/crmhit}act","Document":{"@search.objectid":"aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb","@search.entityname":"contact","@search.objecttypecode":2,"fullname":"Yvonne McKay (sample)"}}],"QueryContext":null}',
        }),
      (c) => c.suggest('Cont', { top: 3, fuzzy: false }),
    )
    const [r] = requests as [Recorded]
    expect(r.method).toBe('POST')
    expect(r.target).toBe('/api/search/v2.0/suggest')
    expect(bodyOf(r)).toEqual({ search: 'Cont', fuzzy: false, top: 3 })
    expect(result).toEqual({
      suggestions: [
        {
          text: '{crmhit}cont{/crmhit}act',
          document: {
            '@search.objectid': 'aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb',
            '@search.entityname': 'contact',
            '@search.objecttypecode': 2,
            fullname: 'Yvonne McKay (sample)',
          },
        },
      ],
      queryContext: null,
    })
  })
})

describe('Dataverse Search autocomplete', () => {
  it('POST /api/search/v2.0/autocomplete with entities, search and fuzzy; Value from the response text', async () => {
    const { requests, result } = await record(
      () =>
        json({
          '@odata.context':
            '[Organization Uri]/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.searchautocompleteResponse',
          response: '{"Error":null,"Value":"{crmhit}contoso{/crmhit}","QueryContext":null}',
        }),
      (c) =>
        c.autocomplete('Con', {
          entities: [{ name: 'account', selectColumns: ['name', 'createdon'], searchColumns: ['name'] }],
          fuzzy: true,
        }),
    )
    const [r] = requests as [Recorded]
    expect(r.target).toBe('/api/search/v2.0/autocomplete')
    expect(bodyOf(r)).toEqual({
      search: 'Con',
      entities: '[{"name":"account","selectColumns":["name","createdon"],"searchColumns":["name"]}]',
      fuzzy: true,
    })
    expect(result).toEqual({ value: '{crmhit}contoso{/crmhit}', queryContext: null })
  })
})

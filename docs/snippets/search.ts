import type { DataverseClient } from '@dataverse-s2s/webapi'

export async function searchAccounts(client: DataverseClient, term: string) {
  // #region search
  const { hits, count } = await client.search<{ name: string; address1_city: string | null }>(term, {
    entities: [{ name: 'account', selectColumns: ['name', 'address1_city'], searchColumns: ['name'] }],
    filter: 'statecode eq 0',
    count: true,
    top: 10,
  })
  for (const hit of hits) {
    // highlights mark the matched words: "{crmhit}Contoso{/crmhit} Pharmaceuticals"
    console.log(hit.score, hit.attributes.name, hit.highlights.name?.[0])
  }
  // #endregion search
  return { hits, count }
}

export async function searchBox(client: DataverseClient, typed: string) {
  // #region suggest
  // As the user types: complete the current word, and list matching records under the box.
  const { value: completion } = await client.autocomplete(typed, { entities: ['account', 'contact'] })
  const { suggestions } = await client.suggest(typed, { entities: ['account', 'contact'], top: 5 })
  const items = suggestions.map((s) => ({
    label: s.text.replaceAll('{crmhit}', '<b>').replaceAll('{/crmhit}', '</b>'),
    table: s.document['@search.entityname'],
    id: s.document['@search.objectid'],
  }))
  // #endregion suggest
  return { completion, items }
}

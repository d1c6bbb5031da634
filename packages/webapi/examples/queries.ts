import { type DataverseClient, odata } from '@dataverse-s2s/webapi'

export async function queries(client: DataverseClient, city: string) {
  // #region queries
  // Values in odata`...` are escaped: `city` can hold any text (quotes included) and stays one literal.
  const filter = odata`address1_city eq ${city} and revenue gt ${1000}`

  // One page.
  const first = await client.query<{ name: string }>('accounts', {
    select: ['name'],
    filter,
    orderBy: 'name',
    top: 10,
  })

  // Every row, one page in memory at a time (follows @odata.nextLink).
  let total = 0
  for await (const row of client.queryAll<{ name: string }>('accounts', {
    select: ['name'],
    filter,
    maxPageSize: 500,
  })) {
    if (row.name) total++
  }

  // FetchXML, following paging cookies.
  const fetchXml = `<fetch count="100"><entity name="account"><attribute name="name"/><order attribute="name"/></entity></fetch>`
  let fetched = 0
  for await (const _ of client.fetchXml('accounts', fetchXml)) fetched++
  // #endregion queries
  return { first: first.value, total, fetched }
}

import { and, type DataverseClient, guid, odata } from '@dataverse-s2s/webapi'

interface Account {
  accountid: string
  name: string
  address1_city: string | null
}

export async function filters(client: DataverseClient, search: string, ownerId: string) {
  // #region filter
  // Every interpolated value is written as an OData literal: quotes are doubled, so a value can never end its
  // string and change the query.
  const filter = and(
    odata`contains(name, ${search})`,
    odata`address1_city ne ${null}`,
    ownerId ? odata`_ownerid_value eq ${guid(ownerId)}` : undefined, // skipped when falsy
  )
  const page = await client.query<Account>('accounts', {
    select: ['accountid', 'name', 'address1_city'],
    filter,
    orderBy: ['name'],
    top: 20,
  })
  // #endregion filter
  return { filter: filter.toString(), page }
}

export async function aliased(client: DataverseClient, cities: string[]) {
  // #region aliases
  // Query function parameters as aliases (Use Web API functions): each value is written as an OData literal.
  const page = await client.query<Account>('accounts', {
    select: ['name', 'address1_city'],
    filter: 'Microsoft.Dynamics.CRM.In(PropertyName=@column,PropertyValues=@cities)',
    aliases: { column: 'address1_city', cities },
  })
  // GET accounts?$select=name,address1_city&$filter=Microsoft.Dynamics.CRM.In(PropertyName=@column,
  //   PropertyValues=@cities)&@column='address1_city'&@cities=["Oslo","Redmond"]
  // #endregion aliases
  return page
}

export async function paging(client: DataverseClient) {
  // #region pages
  // One page at a time, for a UI with a "Next" button: keep `nextLink` and pass it back.
  const firstPage = await client.query<Account>('accounts', {
    select: ['name'],
    orderBy: 'name',
    maxPageSize: 50,
  })
  const secondPage = firstPage.nextLink
    ? await client.queryNext<Account>(firstPage.nextLink, { maxPageSize: 50 })
    : undefined
  // #endregion pages
  return { firstPage, secondPage }
}

export async function everyRow(client: DataverseClient) {
  // #region query-all
  // Every row, following @odata.nextLink, with one page in memory at a time.
  let count = 0
  for await (const account of client.queryAll<Account>('accounts', { select: ['name'], maxPageSize: 100 })) {
    count++
    if (!account.name) throw new Error('every account has a name')
  }
  // #endregion query-all
  return count
}

export async function fetchXml(client: DataverseClient) {
  // #region fetchxml
  const fetch = `<fetch>
    <entity name="account">
      <attribute name="name" />
      <order attribute="name" />
      <filter><condition attribute="address1_city" operator="eq" value="Oslo" /></filter>
    </entity>
  </fetch>`
  // The client follows the paging cookie from page to page.
  const names: string[] = []
  for await (const row of client.fetchXml<{ name: string }>('accounts', fetch, { pageSize: 25 }))
    names.push(row.name)
  // #endregion fetchxml
  return names
}

export async function fetchXmlCount(client: DataverseClient) {
  // #region fetchxml-count
  // returntotalrecordcount="true": the page carries the number of matching rows (up to 5,000).
  const fetch = `<fetch returntotalrecordcount="true" count="10">
    <entity name="account">
      <attribute name="name" />
      <filter><condition attribute="address1_city" operator="eq" value="Oslo" /></filter>
    </entity>
  </fetch>`
  const page = await client.fetchXmlPage<{ name: string }>('accounts', fetch)
  const pages = page.totalRecordCountLimitExceeded ? undefined : Math.ceil((page.count ?? 0) / 10)
  // #endregion fetchxml-count
  return { page, pages }
}

export async function counting(client: DataverseClient) {
  // #region count
  const all = await client.count('accounts')
  const inOslo = await client.count('accounts', { filter: odata`address1_city eq ${'Oslo'}` })
  // #endregion count
  return { all, inOslo }
}

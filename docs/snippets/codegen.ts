import { generate, parseMetadata, readChoices } from '@dataverse-s2s/codegen'
import type { DataverseClient } from '@dataverse-s2s/webapi'
// #region import
import { type Account, accountTable } from './codegen-types.ts'
// #endregion import

export async function largeAccounts(client: DataverseClient, minEmployees: number) {
  // #region query
  const page = await client.query<Account>('accounts', {
    select: ['name', 'numberofemployees', 'revenue'],
    filter: `numberofemployees ge ${minEmployees}`,
    expand: [{ property: 'primarycontactid', select: ['fullname'] }],
    orderBy: 'name',
  })
  for (const account of page.value) {
    // account.name is string | null | undefined; account.primarycontactid is a Contact row (or null, or undefined)
    console.log(account.name, account.numberofemployees ?? 0, account.primarycontactid?.fullname)
  }
  // #endregion query
  return page.value
}

export async function importAccounts(client: DataverseClient, names: string[]) {
  // #region bulk
  const rows: Account[] = names.map((name) => ({ name, creditonhold: false }))
  // accountTable is { entitySet: 'accounts', logicalName: 'account' }: the table argument of the bulk methods
  const ids = await client.createMultiple(accountTable, rows)
  // #endregion bulk
  return ids
}

export async function typesFromCode(client: DataverseClient): Promise<string> {
  // #region library
  // The library runs anywhere (no node: imports): here it reads $metadata through the Web API client.
  const { body } = await client.request<string>({
    method: 'GET',
    path: '$metadata',
    headers: { accept: 'application/xml' },
  })
  const model = parseMetadata(body ?? '')
  const account = model.entities.find((e) => e.logicalName === 'account')
  console.log(
    account?.entitySet,
    account?.properties.filter((p) => p.lookup).map((p) => p.name),
  )
  const source = generate(model, { tables: ['account', 'contact'], source: client.url })
  // #endregion library
  return source
}

export async function enumsFromCode(client: DataverseClient): Promise<string> {
  const { body } = await client.request<string>({
    method: 'GET',
    path: '$metadata',
    headers: { accept: 'application/xml' },
  })
  // #region enums
  const tables = ['account', 'contact']
  // the choice, state and status columns' options, read through client.definitions (cached per client)
  const choices = await readChoices(client.definitions, tables)
  const source = generate(parseMetadata(body ?? ''), { tables, choices, source: client.url })
  // source now also holds, per choice column:
  //   export const AccountIndustrycode = { Accounting: 1, AgricultureAndNonPetrolNaturalResourceExtraction: 2, ... } as const
  //   export type AccountIndustrycode = (typeof AccountIndustrycode)[keyof typeof AccountIndustrycode]
  //   export const AccountIndustrycodeLabels: { readonly [V in AccountIndustrycode]: string } = { 1: 'Accounting', ... }
  // #endregion enums
  return source
}

import {
  createDataverseClient,
  type DataverseClient,
  type DataverseClientOptions,
  isDataverseError,
} from '@dataverse-s2s/webapi'

export async function tableAndColumns(client: DataverseClient) {
  // #region table
  const account = await client.definitions.table('account')
  console.log(account.entitySetName, account.primaryIdAttribute, account.displayName) // accounts accountid Account

  const columns = await client.definitions.columns('account')
  for (const column of columns) {
    // type is AttributeType: String, Money, Lookup, Picklist, ...; choice is set on choice columns
    console.log(
      column.logicalName,
      column.type,
      column.requiredLevel,
      column.maxLength ?? '',
      column.targets ?? '',
    )
  }
  // #endregion table
  return { account, columns }
}

export async function choiceLabels(client: DataverseClient) {
  // #region choice
  const industry = await client.definitions.choice('account', 'industrycode')
  const labels = new Map(industry.options.map((o) => [o.value, o.label]))
  const rows = await client.query<{ name: string; industrycode: number | null }>('accounts', {
    select: ['name', 'industrycode'],
    filter: 'industrycode ne null',
  })
  const named = rows.value.map((r) => `${r.name}: ${labels.get(r.industrycode ?? -1) ?? 'unknown'}`)

  const status = await client.definitions.choice('account', 'statuscode')
  // status options say which state they belong to: [{ value: 1, label: 'Active', state: 0 }, ...]
  const activeStatuses = status.options.filter((o) => o.state === 0).map((o) => o.value)
  // #endregion choice
  return { industry, named, activeStatuses }
}

export async function relationshipsAndGlobal(client: DataverseClient) {
  // #region relationships
  const relationships = await client.definitions.relationships('contact')
  for (const r of relationships) {
    if (r.kind === 'OneToMany')
      console.log(`${r.referencingEntity}.${r.referencingAttribute} → ${r.referencedEntity}`)
    else console.log(`${r.entity1} ↔ ${r.entity2} through ${r.intersectEntity}`)
  }
  const budget = await client.definitions.globalChoice('budgetstatus')
  // #endregion relationships
  return { relationships, budget }
}

export async function upsertByKey(client: DataverseClient, accountNumber: string) {
  // #region keys
  const keys = await client.definitions.keys('account')
  // an upsert by key needs the key to exist and its index to be built
  const byNumber = keys.find((k) => k.columns.join() === 'accountnumber' && k.status === 'Active')
  if (!byNumber) throw new Error('Deploy an alternate key on account.accountnumber first.')
  await client.upsert('accounts', { accountnumber: accountNumber }, { name: 'Fourth Coffee' })
  // #endregion keys
  return byNumber
}

export async function missingTable(client: DataverseClient) {
  // #region errors
  try {
    await client.definitions.table('new_project')
  } catch (e) {
    if (isDataverseError(e) && e.code === 'NOT_FOUND') return 'not deployed yet'
    throw e
  }
  // #endregion errors
  return 'deployed'
}

export async function revalidatingClient(options: DataverseClientOptions) {
  // #region cache
  const client = createDataverseClient({ ...options, definitions: { revalidateAfterMs: 60_000 } })
  const stamp = await client.definitions.version() // the org's ServerVersionStamp, checked at most once a minute
  // after deploying a solution that changed tables:
  client.definitions.clear()
  // #endregion cache
  return { client, stamp }
}

import { type DataverseClient, isDataverseError, type Row } from '@dataverse-s2s/webapi'

export async function importAccounts(client: DataverseClient, lines: AsyncIterable<string>) {
  // #region create
  const accounts = { entitySet: 'accounts', logicalName: 'account' } // URL name, and the name in @odata.type

  // Any (async) iterable works: it is read one chunk at a time, so the whole file never sits in memory.
  async function* rows() {
    for await (const line of lines) {
      const [accountnumber, name, city] = line.split(',')
      yield { accountnumber, name, address1_city: city }
    }
  }

  const ids = await client.createMultiple(accounts, rows(), { chunkSize: 1000 })
  // ids[i] is the id of the row made from line i
  // #endregion create
  return ids
}

export async function syncAccounts(client: DataverseClient, source: Row[]) {
  // #region upsert
  const written = await client.upsertMultiple({ entitySet: 'accounts', logicalName: 'account' }, source, {
    // sent as each row's @odata.id: accounts(accountnumber='A-1'); run it twice, get the same rows
    key: (row) => ({ accountnumber: String(row.accountnumber) }),
  })
  // #endregion upsert
  return written
}

export async function createResumably(client: DataverseClient, rows: Row[], fix: (row: Row) => Row) {
  // #region resume
  const accounts = { entitySet: 'accounts', logicalName: 'account' }
  try {
    await client.createMultiple(accounts, rows, { chunkSize: 100 })
  } catch (error) {
    if (!isDataverseError(error) || error.code !== 'BULK_INCOMPLETE' || !error.bulk) throw error
    const { written, failed, uncertain, consumed } = error.bulk
    console.log(`${written.length} chunks written, ${failed.length} refused, ${uncertain.length} unknown`)

    // Refused chunks were rolled back as a whole: correct their rows and send them again.
    for (const chunk of failed) console.log(`rows ${chunk.start}+${chunk.count}: ${chunk.error.message}`)
    await client.createMultiple(
      accounts,
      failed.flatMap((chunk) => chunk.rows.map(fix)),
    )
    // Chunks that may have been written: an upsert by alternate key is right either way.
    await client.upsertMultiple(
      accounts,
      uncertain.flatMap((chunk) => chunk.rows),
      { key: (row) => ({ accountnumber: String(row.accountnumber) }) },
    )
    // Rows never read (the import stopped at the first failure): carry on from there.
    await client.createMultiple(accounts, rows.slice(consumed))
  }
  // #endregion resume
}

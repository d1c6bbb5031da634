import type { DataverseClient } from '@dataverse-s2s/webapi'

export interface OwnerCount {
  ownerId: string
  owner: string
  accounts: number
}

export interface RecentContact {
  id: string
  fullName: string
  email: string
  createdOn: string
}

export interface DashboardData {
  /** The Dataverse user the reads ran as: the application user, or the impersonated user. */
  caller: { userId: string; name: string }
  accountsRead: number
  /** True when there were more accounts than `maxAccounts`: the counts cover the first ones only. */
  accountsTruncated: boolean
  owners: OwnerCount[]
  contacts: RecentContact[]
}

const FORMATTED = '@OData.Community.Display.V1.FormattedValue'

/**
 * Reads the dashboard: accounts grouped by owner, the most recent contacts, and who the caller is in Dataverse.
 * @param client - a client acting as the application user, or as the signed-in user through `as()`
 */
export async function loadDashboard(
  client: DataverseClient,
  options: { maxAccounts?: number; contacts?: number; signal?: AbortSignal } = {},
): Promise<DashboardData> {
  const maxAccounts = options.maxAccounts ?? 5_000
  const signal = options.signal
  const call = signal ? { signal } : {}
  const [who, owners, contacts] = await Promise.all([
    client.whoAmI(call),
    (async () => {
      const counts = new Map<string, OwnerCount>()
      let read = 0
      let truncated = false
      for await (const row of client.queryAll('accounts', {
        select: ['accountid', '_ownerid_value'],
        formattedValues: true,
        maxPageSize: Math.min(5_000, maxAccounts),
        ...call,
      })) {
        if (read === maxAccounts) {
          truncated = true
          break
        }
        read++
        const ownerId = String(row['_ownerid_value'] ?? '')
        const entry = counts.get(ownerId) ?? {
          ownerId,
          owner: String(row[`_ownerid_value${FORMATTED}`] ?? ''),
          accounts: 0,
        }
        entry.accounts++
        counts.set(ownerId, entry)
      }
      const list = [...counts.values()].sort(
        (a, b) => b.accounts - a.accounts || a.owner.localeCompare(b.owner),
      )
      await nameOwners(client, list, call)
      return { list, read, truncated }
    })(),
    client.query('contacts', {
      select: ['contactid', 'fullname', 'emailaddress1', 'createdon'],
      orderBy: ['createdon desc', 'contactid'],
      top: options.contacts ?? 10,
      ...call,
    }),
  ])
  const me = await client
    .retrieve('systemusers', who.userId, { select: ['fullname'], ...call })
    .catch(() => ({ fullname: '' }))
  return {
    caller: { userId: who.userId, name: String(me['fullname'] ?? '') },
    accountsRead: owners.read,
    accountsTruncated: owners.truncated,
    owners: owners.list,
    contacts: contacts.value.map((row) => ({
      id: String(row['contactid'] ?? ''),
      fullName: String(row['fullname'] ?? ''),
      email: String(row['emailaddress1'] ?? ''),
      createdOn: String(row['createdon'] ?? ''),
    })),
  }
}

/** Fills in owner names that came without a formatted value (teams or users), one read per owner at most. */
async function nameOwners(client: DataverseClient, owners: OwnerCount[], call: { signal?: AbortSignal }) {
  for (const owner of owners.slice(0, 50)) {
    if (owner.owner || !owner.ownerId) continue
    const user = await client
      .retrieve('systemusers', owner.ownerId, { select: ['fullname'], ...call })
      .catch(() => undefined)
    owner.owner = String(user?.['fullname'] ?? owner.ownerId)
  }
}

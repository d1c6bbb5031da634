import { beforeAll, describe, expect, it } from 'vitest'
import { formatValue } from './formatted.ts'
import { BUILTIN_TABLES, type ColumnDef, defineTable } from './metadata.ts'
import { ids, setup } from './test-support.ts'

const API = '/api/data/v9.2'
const FORMATTED = 'OData.Community.Display.V1.FormattedValue'

describe('formatted values (Query data, § Formatted values)', () => {
  it('formats money, whole numbers, decimals, dates, state and status as an en-US user in UTC', () => {
    expect(formatValue({ name: 'revenue', type: 'money' }, 5_000_000)).toBe('$5,000,000.00')
    expect(formatValue({ name: 'numberofemployees', type: 'integer' }, 9500)).toBe('9,500')
    expect(formatValue({ name: 'x', type: 'decimal' }, 1234.5)).toBe('1,234.50')
    expect(formatValue({ name: 'createdon', type: 'datetime' }, Date.UTC(2023, 3, 7, 14, 59) / 1000)).toBe(
      '4/7/2023 2:59 PM',
    )
    const account = defineTable(BUILTIN_TABLES.find((t) => t.logicalName === 'account') as never)
    const col = (name: string) => account.byName.get(name) as ColumnDef
    expect(formatValue(col('statecode'), 0)).toBe('Active')
    expect(formatValue(col('statuscode'), 2)).toBe('Inactive')
    expect(formatValue(col('creditonhold'), true)).toBe('Yes')
    expect(formatValue(col('creditonhold'), false)).toBe('No')
    expect(formatValue(col('industrycode'), 11)).toBe("Doctor's Offices and Clinics")
    expect(formatValue(col('industrycode'), 999)).toBeUndefined()
    expect(formatValue({ name: 'name', type: 'string' }, 'x')).toBeUndefined()
  })
})

describe('formatted values over HTTP', () => {
  let env: Awaited<ReturnType<typeof setup>>
  beforeAll(async () => {
    env = await setup({ seed: { sampleData: false } })
  })

  it('annotates money with separators and the state label on a read', async () => {
    const [id] = env.org.data.insertRows('account', [{ name: 'Big Co', revenue: 5_000_000 }])
    const res = await env.request(`${API}/accounts(${id})?$select=name,revenue,statecode`, {
      headers: { Prefer: `odata.include-annotations="${FORMATTED}"` },
    })
    const body = (await res.json()) as Record<string, unknown>
    expect(body[`revenue@${FORMATTED}`]).toBe('$5,000,000.00')
    expect(body[`statecode@${FORMATTED}`]).toBe('Active')
    expect(body).not.toHaveProperty(`name@${FORMATTED}`)
  })

  it('labels a choice from the options its table definition declares (local and global choices)', async () => {
    const local = await setup({
      seed: {
        sampleData: false,
        systemUsers: [{ applicationId: ids.multiTenantAppId, roles: ['System Administrator'] }],
        optionSets: [{ name: 'new_priority', options: [{ value: 100, label: 'High' }] }],
        tables: [
          {
            logicalName: 'new_ticket',
            columns: [
              { name: 'new_priority', type: 'picklist', optionSet: 'new_priority' },
              { name: 'new_kind', type: 'picklist', options: [{ value: 7, label: 'Bug' }] },
              {
                name: 'statecode',
                type: 'picklist',
                options: [
                  { value: 0, label: 'Open' },
                  { value: 1, label: 'Closed' },
                  { value: 2, label: 'Archived' },
                ],
              },
            ],
          },
        ],
      },
    })
    const [id] = local.org.data.insertRows('new_ticket', [
      { name: 'T', new_priority: 100, new_kind: 7, statecode: 2 },
    ])
    // the statecode check accepts the table's own state options, and refuses others
    expect(() => local.org.data.insertRows('new_ticket', [{ name: 'U', statecode: 3 }])).toThrow(
      /outside the valid range. Accepted Values: 0,1,2/,
    )
    const res = await local.request(`${API}/new_tickets(${id})`, {
      headers: { Prefer: `odata.include-annotations="${FORMATTED}"` },
    })
    const body = (await res.json()) as Record<string, unknown>
    expect(body[`new_priority@${FORMATTED}`]).toBe('High')
    expect(body[`new_kind@${FORMATTED}`]).toBe('Bug')
    expect(body[`statecode@${FORMATTED}`]).toBe('Archived')
    const [acc] = env.org.data.insertRows('account', [{ name: 'Ind', industrycode: 7 }])
    const read = await env.request(`${API}/accounts(${acc})?$select=industrycode`, {
      headers: { Prefer: `odata.include-annotations="${FORMATTED}"` },
    })
    expect(((await read.json()) as Record<string, unknown>)[`industrycode@${FORMATTED}`]).toBe('Consulting')
  })
})

describe("formatted values in the calling user's settings (usersettings: localeid, timezonecode)", () => {
  let env: Awaited<ReturnType<typeof setup>>
  let accountId: string
  const headers = (extra: Record<string, string> = {}) => ({
    Prefer: `odata.include-annotations="${FORMATTED}"`,
    ...extra,
  })
  const read = async (extra: Record<string, string> = {}) =>
    (await (
      await env.request(`${API}/accounts(${accountId})?$select=revenue,numberofemployees,createdon`, {
        headers: headers(extra),
      })
    ).json()) as Record<string, string>

  beforeAll(async () => {
    env = await setup({ seed: { sampleData: false } })
    ;[accountId] = env.org.data.insertRows('account', [
      { name: 'Formatted Co', revenue: 5_000_000, numberofemployees: 9500 },
    ]) as [string]
  })

  it('formats an en-US user in UTC by default, and a German user in Berlin time once its settings say so', async () => {
    const app = await env.whoAmI()
    const before = await read()
    expect(before[`numberofemployees@${FORMATTED}`]).toBe('9,500')
    const created = before.createdon as string
    const utc = new Date(created)
    expect(before[`createdon@${FORMATTED}`]).toBe(
      `${utc.getUTCMonth() + 1}/${utc.getUTCDate()}/${utc.getUTCFullYear()} ${((utc.getUTCHours() + 11) % 12) + 1}:${String(utc.getUTCMinutes()).padStart(2, '0')} ${utc.getUTCHours() < 12 ? 'AM' : 'PM'}`,
    )
    env.org.data.insertRows('usersettings', [{ systemuserid: app, localeid: 1031, timezonecode: 110 }])
    const after = await read()
    expect(after[`numberofemployees@${FORMATTED}`]).toBe('9.500')
    expect(after[`revenue@${FORMATTED}`]).toBe('5.000.000,00\u00a0$')
    const berlin = new Intl.DateTimeFormat('de-DE', {
      timeZone: 'Europe/Berlin',
      day: '2-digit',
      month: '2-digit',
      year: 'numeric',
      hour: 'numeric',
      minute: '2-digit',
    })
      .format(utc)
      .replace(',', '')
    expect(after[`createdon@${FORMATTED}`]).toBe(berlin)
    expect(after[`createdon@${FORMATTED}`]).toMatch(/^\d{2}\.\d{2}\.\d{4} \d{1,2}:\d{2}$/)
  })

  it("uses the impersonated user's settings, not the application user's", async () => {
    const alice = await env.whoAmI({ headers: { CallerObjectId: ids.users.contosoAlice } })
    env.org.data.insertRows('usersettings', [{ systemuserid: alice, localeid: 1033, timezonecode: 35 }])
    const asAlice = await read({ CallerObjectId: ids.users.contosoAlice })
    expect(asAlice[`numberofemployees@${FORMATTED}`]).toBe('9,500')
    const utc = new Date(asAlice.createdon as string)
    const newYork = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/New_York',
      day: 'numeric',
      month: 'numeric',
      year: 'numeric',
      hour: 'numeric',
      minute: '2-digit',
    })
      .format(utc)
      .replace(',', '')
      .replace(/[\u202f\u00a0]/g, ' ')
    expect(asAlice[`createdon@${FORMATTED}`]).toBe(newYork)
  })

  it('falls back to en-US in UTC for a locale or time zone code it does not know', async () => {
    const admin = await env.whoAmI({ headers: { CallerObjectId: ids.users.contosoAdmin } })
    env.org.data.insertRows('usersettings', [{ systemuserid: admin, localeid: 99999, timezonecode: 99999 }])
    const asAdmin = await read({ CallerObjectId: ids.users.contosoAdmin })
    expect(asAdmin[`numberofemployees@${FORMATTED}`]).toBe('9,500')
    const utc = new Date(asAdmin.createdon as string)
    expect(asAdmin[`createdon@${FORMATTED}`]).toBe(
      new Intl.DateTimeFormat('en-US', {
        timeZone: 'UTC',
        day: 'numeric',
        month: 'numeric',
        year: 'numeric',
        hour: 'numeric',
        minute: '2-digit',
      })
        .format(utc)
        .replace(',', '')
        .replace(/[\u202f\u00a0]/g, ' '),
    )
  })
})

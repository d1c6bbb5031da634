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

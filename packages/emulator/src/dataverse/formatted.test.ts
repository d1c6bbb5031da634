import { beforeAll, describe, expect, it } from 'vitest'
import { formatValue } from './formatted.ts'
import { setup } from './test-support.ts'

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
    expect(formatValue({ name: 'statecode', type: 'picklist' }, 0)).toBe('Active')
    expect(formatValue({ name: 'statuscode', type: 'picklist' }, 2)).toBe('Inactive')
    expect(formatValue({ name: 'donotphone', type: 'boolean' }, true)).toBe('Yes')
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
})

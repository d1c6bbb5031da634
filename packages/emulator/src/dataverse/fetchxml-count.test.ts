import { beforeAll, describe, expect, it } from 'vitest'
import { setup } from './test-support.ts'

// Microsoft Learn, Count rows using FetchXml (Web API tab): returntotalrecordcount="true", like `&$count=true`, adds
// `@odata.count` (up to 5,000); the totalrecordcount and totalrecordcountlimitexceeded annotations come only when the
// Prefer header asks for them.

const API = '/api/data/v9.2'
let env: Awaited<ReturnType<typeof setup>>

beforeAll(async () => {
  env = await setup({ seed: { sampleData: false } })
  for (let i = 0; i < 4; i++) {
    await env.request(`${API}/accounts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: `count-${i}` }),
    })
  }
})

const get = async (xml: string, extra = '', headers: Record<string, string> = {}) =>
  (await (
    await env.request(`${API}/accounts?fetchXml=${encodeURIComponent(xml)}${extra}`, { headers })
  ).json()) as Record<string, unknown>

describe('Count rows using FetchXml', () => {
  const counted = `<fetch returntotalrecordcount='true' count='2'><entity name='account'><attribute name='name'/></entity></fetch>`
  const plain = `<fetch count='2'><entity name='account'><attribute name='name'/></entity></fetch>`

  it('returntotalrecordcount adds @odata.count; the annotations only when Prefer names them', async () => {
    const bare = await get(counted)
    expect(bare['@odata.count']).toBe(4)
    expect(bare).not.toHaveProperty('@Microsoft.Dynamics.CRM.totalrecordcount')
    const annotated = await get(counted, '', {
      Prefer:
        'odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"',
    })
    expect(annotated['@Microsoft.Dynamics.CRM.totalrecordcount']).toBe(4)
    expect(annotated['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded']).toBe(false)
    expect(annotated.value).toHaveLength(2)
  })

  it('&$count=true on a FetchXML query does the same; without either there is no count', async () => {
    expect((await get(plain, '&$count=true'))['@odata.count']).toBe(4)
    expect(await get(plain)).not.toHaveProperty('@odata.count')
  })
})

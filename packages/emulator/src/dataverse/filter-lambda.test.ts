import { beforeAll, describe, expect, it } from 'vitest'
import { ODataParseError, parseFilter } from './odata-filter.ts'
import { ids, setup } from './test-support.ts'

// Lambda operators (Microsoft Learn, "Filter rows" § lambda operators / values of related records): `any` and `all`
// on collection-valued navigation properties, the body naming the related row's properties through the range
// variable (`o/fullname`).

const API = '/api/data/v9.2'

describe('lambda operators in the $filter parser', () => {
  it('read nav/any(o: body), nav/all(o: body) and nav/any(), the body’s properties through the range variable', () => {
    expect(parseFilter("contact_customer_accounts/any(o:o/fullname eq 'x')")).toMatchObject({
      kind: 'lambda',
      op: 'any',
      nav: 'contact_customer_accounts',
      position: 0,
      body: {
        kind: 'compare',
        op: 'eq',
        left: { kind: 'property', name: 'fullname', position: 34 },
        right: { kind: 'literal', literal: { type: 'string', value: 'x' } },
      },
    })
    expect(parseFilter('contact_customer_accounts/all( c : c/jobtitle ne null)')).toMatchObject({
      kind: 'lambda',
      op: 'all',
      body: { kind: 'compare', op: 'ne', left: { kind: 'property', name: 'jobtitle' } },
    })
    const bare = parseFilter("name eq 'a' and contact_customer_accounts/any()")
    expect(bare).toMatchObject({
      kind: 'and',
      right: { kind: 'lambda', op: 'any', nav: 'contact_customer_accounts' },
    })
    expect(bare).not.toHaveProperty('right.body')
    // nested, with a query function inside
    expect(
      parseFilter(
        "account_parent_account/any(a:a/contact_customer_accounts/any(c:Microsoft.Dynamics.CRM.In(PropertyName='firstname',PropertyValues=['x'])))",
      ),
    ).toMatchObject({
      kind: 'lambda',
      body: { kind: 'lambda', nav: 'contact_customer_accounts', body: { kind: 'in' } },
    })
  })

  it('refuse, at the offending name, what the emulator does not read, saying why', () => {
    const refused = (text: string, at: string, detail: string) => {
      try {
        parseFilter(text)
      } catch (e) {
        expect(e, text).toBeInstanceOf(ODataParseError)
        expect((e as ODataParseError).position, text).toBe(text.indexOf(at))
        expect((e as Error).message, text).toContain(detail)
        return
      }
      throw new Error(`parsed: ${text}`)
    }
    refused(
      "c/any(o:fullname eq 'x')",
      'fullname',
      "name properties through its range variable: 'o/fullname'",
    )
    refused(
      "a/any(o:o/b/any(p:o/name eq 'x'))",
      'o/name',
      "a lambda body that reads the outer range variable 'o'",
    )
    refused("primarycontactid/fullname eq 'x'", 'fullname', 'it does not emulate paths to a related row')
    refused('c/all()', ')', 'Syntax error')
    refused('c/any(o o/x eq 1)', 'o/x', 'Syntax error')
    expect(() => parseFilter('c/any(o:o/x eq 1')).toThrow('Syntax error at position 16')
    refused('c/any(o:o/b/any(o:o/x eq 1))', 'o:o/x', 'Syntax error') // a range variable in use is not reused
  })
})

describe('lambda operators over HTTP', () => {
  let env: Awaited<ReturnType<typeof setup>>
  const account: Record<string, string> = {}
  beforeAll(async () => {
    env = await setup({ seed: { sampleData: false } })
    const [withAnn, withBob, none] = env.org.data.insertRows('account', [
      { name: 'With Ann' },
      { name: 'With Bob and Ann' },
      { name: 'Without contacts' },
    ]) as [string, string, string]
    Object.assign(account, { withAnn, withBob, none })
    env.org.data.insertRows('contact', [
      { firstname: 'Ann', jobtitle: 'CEO', 'parentcustomerid_account@odata.bind': `/accounts(${withAnn})` },
      { firstname: 'Bob', 'parentcustomerid_account@odata.bind': `/accounts(${withBob})` },
      { firstname: 'Ann', jobtitle: 'CTO', 'parentcustomerid_account@odata.bind': `/accounts(${withBob})` },
    ])
  })

  const names = async (filter: string, headers: Record<string, string> = {}) => {
    const res = await env.request(`${API}/accounts?$select=name&$filter=${encodeURIComponent(filter)}`, {
      headers,
    })
    expect(res.status, await res.clone().text()).toBe(200)
    return ((await res.json()) as { value: { name: string }[] }).value.map((r) => r.name).sort()
  }

  it('any holds when some related row matches the body, all when every one does (and for none)', async () => {
    expect(await names("contact_customer_accounts/any(o:o/firstname eq 'Bob')")).toEqual(['With Bob and Ann'])
    expect(await names("contact_customer_accounts/any(o:o/firstname eq 'Ann')")).toEqual([
      'With Ann',
      'With Bob and Ann',
    ])
    expect(await names("contact_customer_accounts/all(o:o/firstname eq 'Ann')")).toEqual([
      'With Ann',
      'Without contacts',
    ])
    expect(await names('contact_customer_accounts/any()')).toEqual(['With Ann', 'With Bob and Ann'])
    expect(await names('not contact_customer_accounts/any()')).toEqual(['Without contacts'])
  })

  it('take the operators of a normal filter in the body, query functions and parameter aliases included', async () => {
    expect(
      await names(
        "contact_customer_accounts/any(o:o/firstname eq 'Ann' and (o/jobtitle eq 'CTO' or o/jobtitle eq null))",
      ),
    ).toEqual(['With Bob and Ann'])
    const res = await env.request(
      `${API}/accounts?$select=name&$filter=contact_customer_accounts/any(o:Microsoft.Dynamics.CRM.NotIn(PropertyName=@p1,PropertyValues=@p2))&@p1='firstname'&@p2=["Ann"]`,
    )
    expect(((await res.json()) as { value: { name: string }[] }).value.map((r) => r.name)).toEqual([
      'With Bob and Ann',
    ])
  })

  it('follow many-to-many relationships (systemuserroles_association)', async () => {
    const admin = await setup({
      seed: {
        sampleData: false,
        systemUsers: [{ applicationId: ids.multiTenantAppId, roles: ['System Administrator'] }],
      },
    })
    const filter = (role: string) =>
      encodeURIComponent(`systemuserroles_association/any(r:r/name eq '${role}')`)
    const users = async (role: string) => {
      const res = await admin.request(`${API}/systemusers?$select=fullname&$filter=${filter(role)}`)
      expect(res.status, await res.clone().text()).toBe(200)
      return ((await res.json()) as { value: { systemuserid: string }[] }).value.map((u) => u.systemuserid)
    }
    const app = await admin.whoAmI()
    expect(await users('System Administrator')).toContain(app)
    expect(await users('Basic User')).not.toContain(app)
  })

  it('answer a 400 for a single-valued or unknown navigation property and an unknown column in the body', async () => {
    const error = async (filter: string) => {
      const res = await env.request(`${API}/accounts?$filter=${encodeURIComponent(filter)}`)
      expect(res.status, filter).toBe(400)
      return ((await res.json()) as { error: { message: string } }).error.message
    }
    expect(await error("primarycontactid/any(o:o/firstname eq 'x')")).toBe(
      "The navigation property 'primarycontactid' is single-valued; any applies to collection-valued navigation properties.",
    )
    expect(await error('nope/any()')).toBe(
      "Could not find a property named 'nope' on type 'Microsoft.Dynamics.CRM.account'.",
    )
    expect(await error("contact_customer_accounts/any(o:o/name eq 'x')")).toBe(
      "Could not find a property named 'name' on type 'Microsoft.Dynamics.CRM.contact'.",
    )
  })

  it('need the Read privilege on the related table', async () => {
    // the default application user's role reads system users but not roles
    expect((await env.request(`${API}/systemusers?$select=fullname`)).status).toBe(200)
    const res = await env.request(
      `${API}/systemusers?$filter=${encodeURIComponent('systemuserroles_association/any()')}`,
    )
    expect(res.status).toBe(403)
  })
})

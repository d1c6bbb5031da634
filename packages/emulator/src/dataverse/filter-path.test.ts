import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { ODataParseError, type ParseFilterOptions, parseFilter } from './odata-filter.ts'
import { setup } from './test-support.ts'

// Paths through single-valued navigation properties (Microsoft Learn, "Filter rows" § filter using lookup column
// property values): `primarycontactid/fullname eq 'x'`, also further up (`primarycontactid/createdby/fullname`).

const API = '/api/data/v9.2'
const paths: ParseFilterOptions = { paths: true }

describe('navigation paths in the $filter parser', () => {
  it('read nav/…/property wherever a property stands, inside lambda bodies too', () => {
    expect(parseFilter("primarycontactid/fullname eq 'x'", undefined, paths)).toMatchObject({
      kind: 'compare',
      left: { kind: 'path', navigations: ['primarycontactid'], name: 'fullname', position: 0 },
    })
    expect(
      parseFilter('x eq 1 and primarycontactid / createdby/fullname ne null', undefined, paths),
    ).toMatchObject({
      right: {
        left: {
          kind: 'path',
          navigations: ['primarycontactid', 'createdby'],
          name: 'fullname',
          position: 11,
        },
      },
    })
    expect(parseFilter("contains(parentaccountid/name,'a')", undefined, paths)).toMatchObject({
      kind: 'call',
      args: [{ kind: 'path', navigations: ['parentaccountid'], name: 'name' }, { kind: 'literal' }],
    })
    expect(parseFilter('not parentaccountid/creditonhold', undefined, paths)).toMatchObject({
      operand: { kind: 'path', name: 'creditonhold' },
    })
    expect(
      parseFilter("account_parent_account/any(a:a/primarycontactid/fullname eq 'x')", undefined, paths),
    ).toMatchObject({
      kind: 'lambda',
      body: { left: { kind: 'path', navigations: ['primarycontactid'], name: 'fullname', position: 31 } },
    })
    // a lambda still parses as one with paths on
    expect(parseFilter('contact_customer_accounts/any()', undefined, paths)).toMatchObject({ kind: 'lambda' })
  })

  it('refuse paths where they are not asked for, a lambda after a lookup, and casts', () => {
    const refused = (text: string, at: string, detail: string, options = paths) => {
      try {
        parseFilter(text, undefined, options)
      } catch (e) {
        expect(e, text).toBeInstanceOf(ODataParseError)
        expect((e as ODataParseError).position, text).toBe(text.indexOf(at))
        expect((e as Error).message, text).toContain(detail)
        return
      }
      throw new Error(`parsed: ${text}`)
    }
    refused("primarycontactid/fullname eq 'x'", 'fullname', 'it does not emulate paths to a related row', {})
    // Learn: "$filter=primarycontactid/new_contact_account/any(a:a/accountid eq '{GUID}') isn't supported"
    refused(
      "primarycontactid/contact_customer_accounts/any(a:a/name eq 'x')",
      'contact_customer_accounts',
      "Dataverse does not filter on a collection-valued navigation property reached through a lookup ('contact_customer_accounts' after 'primarycontactid/')",
    )
    refused("primarycontactid/Microsoft.Dynamics.CRM.contact/fullname eq 'x'", 'Microsoft', 'Syntax error')
    refused('primarycontactid/ eq 1', 'eq', 'Syntax error')
    refused("primarycontactid/'x' eq 1", "'x'", 'Syntax error')
  })

  it('parse any path of names into its navigations and last name', () => {
    const name = fc
      .stringMatching(/^[a-z_][a-z0-9_]{0,12}$/)
      .filter(
        (n) =>
          ![
            'eq',
            'ne',
            'gt',
            'ge',
            'lt',
            'le',
            'and',
            'or',
            'not',
            'any',
            'all',
            'null',
            'true',
            'false',
          ].includes(n),
      )
    fc.assert(
      fc.property(fc.array(name, { minLength: 2, maxLength: 6 }), (segments) => {
        expect(parseFilter(`${segments.join('/')} eq 1`, undefined, paths)).toMatchObject({
          left: { kind: 'path', navigations: segments.slice(0, -1), name: segments.at(-1) },
        })
      }),
      { numRuns: 500 },
    )
  })

  it('never throws anything but ODataParseError on inputs built from path and lambda tokens', () => {
    const token = fc.constantFrom(
      'a',
      'b',
      '/',
      'any',
      'all',
      '(',
      ')',
      ':',
      'eq',
      "'x'",
      'null',
      'and',
      'not',
      'x.y',
    )
    fc.assert(
      fc.property(fc.array(token, { maxLength: 25 }), (tokens) => {
        try {
          parseFilter(tokens.join(' '), undefined, paths)
        } catch (e) {
          if (!(e instanceof ODataParseError)) throw e
        }
      }),
      { numRuns: 3000 },
    )
  })
})

describe('navigation paths over HTTP', () => {
  let env: Awaited<ReturnType<typeof setup>>
  let caller: string
  beforeAll(async () => {
    env = await setup({ seed: { sampleData: false } })
    caller = await env.whoAmI()
    const created = await env.request(`${API}/contacts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ firstname: 'Susanna', lastname: 'Stubberod (sample)' }),
    })
    const susanna = /contacts\((.+)\)/.exec(created.headers.get('OData-EntityId') ?? '')?.[1] as string
    const [bob] = env.org.data.insertRows('contact', [{ firstname: 'Bob', lastname: 'Roberts' }]) as [string]
    const [litware] = env.org.data.insertRows('account', [
      {
        name: 'Litware',
        creditonhold: true,
        numberofemployees: 10,
        'primarycontactid@odata.bind': `/contacts(${susanna})`,
      },
    ]) as [string]
    env.org.data.insertRows('account', [
      { name: 'Fabrikam', 'primarycontactid@odata.bind': `/contacts(${bob})` },
      { name: 'Empty' },
      {
        name: 'Child',
        'parentaccountid@odata.bind': `/accounts(${litware})`,
        'primarycontactid@odata.bind': `/contacts(${bob})`,
      },
    ])
    env.org.data.insertRows('contact', [
      { firstname: 'Carl', 'parentcustomerid_account@odata.bind': `/accounts(${litware})` },
    ])
  })

  const query = (set: string, filter: string, headers: Record<string, string> = {}) =>
    env.request(`${API}/${set}?$filter=${encodeURIComponent(filter)}`, { headers })
  const names = async (filter: string, set = 'accounts') => {
    const res = await query(set, filter)
    expect(res.status, await res.clone().text()).toBe(200)
    const rows = ((await res.json()) as { value: { name?: string; firstname?: string }[] }).value
    return rows.map((r) => r.name ?? r.firstname).sort()
  }
  const error = async (filter: string, set = 'accounts', status = 400) => {
    const res = await query(set, filter)
    expect(res.status, filter).toBe(status)
    return ((await res.json()) as { error: { code: string; message: string } }).error
  }

  it("compare a column of the row a lookup names, as Learn's example does", async () => {
    expect(await names("primarycontactid/fullname eq 'Susanna Stubberod (sample)'")).toEqual(['Litware'])
    expect(await names("primarycontactid/firstname ne 'Susanna'")).toEqual(['Child', 'Empty', 'Fabrikam'])
    expect(await names("contains(primarycontactid/lastname,'ROB')")).toEqual(['Child', 'Fabrikam'])
    expect(await names("startswith(primarycontactid/fullname,'b')")).toEqual(['Child', 'Fabrikam'])
    expect(await names("parentcustomerid_account/name eq 'Litware'", 'contacts')).toEqual(['Carl'])
  })

  it('read a row whose lookup is empty as null', async () => {
    expect(await names('primarycontactid/fullname eq null')).toEqual(['Empty'])
    expect(await names('parentaccountid/name eq null')).toEqual(['Empty', 'Fabrikam', 'Litware'])
    expect(await names('parentaccountid/name ne null')).toEqual(['Child'])
    expect(await names("parentaccountid/name gt 'A'")).toEqual(['Child'])
  })

  it('follow several lookups, read booleans and numbers, and work inside lambda bodies and $apply', async () => {
    expect(await names(`primarycontactid/createdby/systemuserid eq ${caller}`)).toEqual(['Litware'])
    expect(await names("parentaccountid/primarycontactid/fullname eq 'Susanna Stubberod (sample)'")).toEqual([
      'Child',
    ])
    expect(await names('parentaccountid/creditonhold')).toEqual(['Child'])
    expect(await names('parentaccountid/numberofemployees ge 10')).toEqual(['Child'])
    expect(await names("account_parent_account/any(a:a/primarycontactid/firstname eq 'Bob')")).toEqual([
      'Litware',
    ])
    const res = await env.request(
      `${API}/accounts?$apply=filter(primarycontactid/firstname eq 'Bob')/aggregate($count as n)`,
    )
    expect(((await res.json()) as { value: { n: number }[] }).value[0]?.n).toBe(2)
    const expanded = await env.request(
      `${API}/accounts?$select=name&$filter=name eq 'Litware'&$expand=contact_customer_accounts($select=firstname;$filter=parentcustomerid_account/creditonhold)`,
    )
    expect(await expanded.json()).toMatchObject({
      value: [{ name: 'Litware', contact_customer_accounts: [{ firstname: 'Carl' }] }],
    })
  })

  it('answer a 400 for a collection-valued navigation (naming any/all), an unknown name or a bad literal', async () => {
    expect(await error("contact_customer_accounts/firstname eq 'Carl'")).toEqual({
      code: '0x80060888',
      message:
        "The parent value for a property access of a property 'firstname' is not a single value. Property access can only be applied to a single value. 'contact_customer_accounts' is collection-valued: filter on its rows with contact_customer_accounts/any(x: x/firstname …) or contact_customer_accounts/all(…).",
    })
    expect((await error("primarycontactid/name eq 'x'")).message).toBe(
      "Could not find a property named 'name' on type 'Microsoft.Dynamics.CRM.contact'.",
    )
    // a customer lookup's navigation is named per target table: parentcustomerid_account
    expect((await error("parentcustomerid/name eq 'x'", 'contacts')).message).toBe(
      "Could not find a property named 'parentcustomerid' on type 'Microsoft.Dynamics.CRM.contact'.",
    )
    expect((await error("parentcustomerid_systemuser/fullname eq 'x'", 'contacts')).message).toBe(
      "Could not find a property named 'parentcustomerid_systemuser' on type 'Microsoft.Dynamics.CRM.contact'.",
    )
    expect((await error('primarycontactid/fullname eq 1')).message).toContain(
      "Found operand types 'Edm.String' and 'Edm.Decimal'",
    )
    expect((await error('parentaccountid/numberofemployees eq 3000000000')).message).toContain(
      "The literal compared with 'numberofemployees' does not fit its type 'Edm.Int32'",
    )
    expect(
      (await error("primarycontactid/contact_customer_accounts/any(a:a/name eq 'x')")).message,
    ).toContain('a collection-valued navigation property reached through a lookup')
  })

  it('need the Read privilege on every table the path reaches', async () => {
    // the default application user's role reads contacts and system users, not business units
    expect((await query('contacts', "createdby/fullname ne 'x'")).status).toBe(200)
    const denied = await error("primarycontactid/createdby/businessunitid/name eq 'x'", 'accounts', 403)
    expect(denied.code).toBe('0x80040220')
  })
})

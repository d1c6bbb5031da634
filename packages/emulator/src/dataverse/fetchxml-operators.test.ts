import { beforeAll, describe, expect, it } from 'vitest'
import { FUNCTION_OPERATORS } from './fetchxml-operators.ts'
import { QUERY_FUNCTIONS } from './odata-filter.ts'
import { ids, setup } from './test-support.ts'

// FetchXML condition operators that are Dataverse query functions (Learn, "condition operator values"; "Filter rows
// using FetchXml" § operator parameters): each gives the rows its $filter function gives, on the emulator clock, in the
// caller's time zone, for the calling (or impersonated) user.

const API = '/api/data/v9.2'
const CRM = 'Microsoft.Dynamics.CRM.'
const DAY = 86_400_000

describe('FetchXML operators that are query functions', () => {
  it('name a query function the $filter parser knows, for each documented operator', () => {
    for (const fn of FUNCTION_OPERATORS.values()) expect(QUERY_FUNCTIONS.has(fn), fn).toBe(true)
    expect([...FUNCTION_OPERATORS.keys()].sort()).toEqual(
      [
        ...['today', 'yesterday', 'tomorrow', 'last-seven-days', 'next-seven-days'],
        ...['last', 'this', 'next'].flatMap((w) => [`${w}-week`, `${w}-month`, `${w}-year`]),
        ...['hours', 'days', 'weeks', 'months', 'years'].flatMap((u) => [`last-x-${u}`, `next-x-${u}`]),
        ...['minutes', 'hours', 'days', 'weeks', 'months', 'years'].map((u) => `olderthan-x-${u}`),
        ...['on', 'on-or-after', 'on-or-before', 'between', 'not-between'],
        ...[
          'eq-userid',
          'ne-userid',
          'eq-businessid',
          'ne-businessid',
          'contain-values',
          'not-contain-values',
        ],
      ].sort(),
    )
  })
})

describe('FetchXML query-function operators over HTTP', () => {
  let env: Awaited<ReturnType<typeof setup>>
  let app: string
  let alice: string
  let unit: string
  beforeAll(async () => {
    env = await setup({
      seed: {
        sampleData: false,
        systemUsers: [
          { applicationId: ids.multiTenantAppId, roles: ['System Administrator'] },
          { userObjectId: ids.users.contosoAlice, roles: ['System Administrator'] },
        ],
        tables: [
          {
            logicalName: 'new_ticket',
            columns: [
              { name: 'new_due', type: 'datetime' },
              { name: 'new_points', type: 'integer' },
              {
                name: 'new_tags',
                type: 'multiselectpicklist',
                options: [1, 2, 3].map((value) => ({ value, label: `T${value}` })),
              },
              { name: 'new_team', type: 'lookup', target: 'businessunit' },
            ],
          },
        ],
      },
    })
    const who = (await (await env.request(`${API}/WhoAmI`)).json()) as {
      UserId: string
      BusinessUnitId: string
    }
    app = who.UserId
    unit = who.BusinessUnitId
    alice = await env.whoAmI({ headers: { CallerObjectId: ids.users.contosoAlice } })
    env.org.data.insertRows('usersettings', [{ systemuserid: alice, timezonecode: 235 }])
    const now = env.world.clock.now()
    env.org.data.insertRows('new_ticket', [
      { name: 'Recent', new_due: new Date(now - 2 * DAY).toISOString(), new_points: 5, new_tags: '1,3' },
      { name: 'Old', new_due: new Date(now - 30 * DAY).toISOString(), new_points: 15, new_tags: '2' },
      // 16:00 UTC on 13 March 2024 is 01:00 on 14 March in Tokyo
      { name: 'Tokyo', new_due: '2024-03-13T16:00:00Z', new_points: 30 },
      {
        name: 'Soon',
        new_due: new Date(now + 3 * DAY).toISOString(),
        'new_team@odata.bind': `/businessunits(${unit})`,
      },
    ])
    const res = await env.request(`${API}/new_tickets`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Mine' }),
    })
    expect(res.status).toBe(204)
  })

  const names = async (url: string, headers: Record<string, string> = {}) => {
    const res = await env.request(url, { headers })
    expect(res.status, await res.clone().text()).toBe(200)
    return ((await res.json()) as { value: { name: string }[] }).value.map((r) => r.name).sort()
  }
  const fetch = (condition: string, headers?: Record<string, string>) =>
    names(
      `${API}/new_tickets?fetchXml=${encodeURIComponent(`<fetch><entity name="new_ticket"><attribute name="name"/><filter>${condition}</filter></entity></fetch>`)}`,
      headers,
    )
  const filter = (expr: string, headers?: Record<string, string>) =>
    names(`${API}/new_tickets?$select=name&$filter=${encodeURIComponent(expr)}`, headers)
  const fault = async (condition: string) => {
    const xml = `<fetch><entity name="new_ticket"><filter>${condition}</filter></entity></fetch>`
    const res = await env.request(`${API}/new_tickets?fetchXml=${encodeURIComponent(xml)}`)
    expect(res.status, condition).toBe(400)
    return ((await res.json()) as { error: { message: string } }).error.message
  }

  it('give the rows of the query function they name, without a value or with the value attribute', async () => {
    expect(await fetch('<condition attribute="new_due" operator="last-x-days" value="7"/>')).toEqual([
      'Recent',
    ])
    expect(await fetch('<condition attribute="new_due" operator="olderthan-x-days" value="7"/>')).toEqual([
      'Old',
      'Tokyo',
    ])
    for (const [op, fn] of FUNCTION_OPERATORS) {
      const params = QUERY_FUNCTIONS.get(fn)
      if (params === 'name' && !op.includes('id')) {
        const expected = await filter(`${CRM}${fn}(PropertyName='new_due')`)
        expect(await fetch(`<condition attribute="new_due" operator="${op}"/>`), op).toEqual(expected)
      } else if (params === 'count') {
        const expected = await filter(`${CRM}${fn}(PropertyName='new_due',PropertyValue=4)`)
        expect(await fetch(`<condition attribute="new_due" operator="${op}" value="4"/>`), op).toEqual(
          expected,
        )
      }
    }
    expect(await fetch('<condition attribute="new_due" operator="next-seven-days"/>')).toEqual(['Soon'])
    expect(await fetch('<condition attribute="createdon" operator="last-x-hours" value="1"/>')).toHaveLength(
      5,
    )
  })

  it('take on / on-or-after / on-or-before in the time zone of the calling or impersonated user', async () => {
    const on = '<condition attribute="new_due" operator="on" value="2024-03-14"/>'
    expect(await fetch(on)).toEqual([])
    expect(await fetch(on, { MSCRMCallerID: alice })).toEqual(['Tokyo'])
    expect(
      await fetch('<condition attribute="new_due" operator="on-or-before" value="2024-03-13"/>'),
    ).toEqual(['Tokyo'])
    expect(await fetch('<condition attribute="new_due" operator="on-or-after" value="2024-03-14"/>')).toEqual(
      await filter(`${CRM}OnOrAfter(PropertyName='new_due',PropertyValue='2024-03-14')`),
    )
  })

  it('take two <value> elements for between / not-between and several for contain-values', async () => {
    const between = '<value>5</value><value>15</value>'
    expect(
      await fetch(`<condition attribute="new_points" operator="between">${between}</condition>`),
    ).toEqual(['Old', 'Recent'])
    expect(
      await fetch(`<condition attribute="new_points" operator="not-between">${between}</condition>`),
    ).toEqual(['Tokyo'])
    const dates = '<value>2024-03-01</value><value>2024-03-31</value>'
    expect(await fetch(`<condition attribute="new_due" operator="between">${dates}</condition>`)).toEqual([
      'Tokyo',
    ])
    expect(
      await fetch(
        '<condition attribute="new_tags" operator="contain-values"><value>3</value><value>2</value></condition>',
      ),
    ).toEqual(['Old', 'Recent'])
    expect(
      await fetch(
        '<condition attribute="new_tags" operator="not-contain-values"><value>3</value></condition>',
      ),
    ).toEqual(['Mine', 'Old', 'Soon', 'Tokyo'])
  })

  it('compare with the calling (or impersonated) user and their business unit', async () => {
    expect(await fetch('<condition attribute="ownerid" operator="eq-userid"/>')).toEqual(['Mine'])
    expect(
      await fetch('<condition attribute="ownerid" operator="eq-userid"/>', { MSCRMCallerID: alice }),
    ).toEqual([])
    expect(await fetch('<condition attribute="ownerid" operator="ne-userid"/>')).not.toContain('Mine')
    expect(await fetch('<condition attribute="new_team" operator="eq-businessid"/>')).toEqual(['Soon'])
    expect(await fetch('<condition attribute="new_team" operator="ne-businessid"/>')).toEqual(
      await filter(`${CRM}NotEqualBusinessId(PropertyName='new_team')`),
    )
    expect(app).not.toBe(alice)
  })

  it('work in a link-entity filter', async () => {
    const xml = `<fetch><entity name="systemuser"><attribute name="fullname"/><link-entity name="new_ticket" from="ownerid" to="systemuserid"><filter><condition attribute="createdon" operator="today"/><condition attribute="ownerid" operator="eq-userid"/></filter></link-entity></entity></fetch>`
    const res = await env.request(`${API}/systemusers?fetchXml=${encodeURIComponent(xml)}`)
    expect(res.status, await res.clone().text()).toBe(200)
    expect(
      ((await res.json()) as { value: { systemuserid: string }[] }).value.map((u) => u.systemuserid),
    ).toEqual([app])
  })

  it('answer a 400 for a missing, extra or malformed value, a column of another type or an operator not emulated', async () => {
    expect(await fault('<condition attribute="new_due" operator="last-x-days"/>')).toBe(
      "The FetchXML condition 'last-x-days' on 'new_due' needs its value in the value attribute.",
    )
    expect(await fault('<condition attribute="new_due" operator="last-x-days" value="1.5"/>')).toBe(
      "The FetchXML condition 'last-x-days' on 'new_due' needs a whole number as its value; '1.5' is not one.",
    )
    expect(await fault('<condition attribute="new_due" operator="today" value="1"/>')).toBe(
      "The FetchXML condition 'today' on 'new_due' takes no value.",
    )
    expect(
      await fault('<condition attribute="new_points" operator="between"><value>1</value></condition>'),
    ).toBe("The FetchXML condition 'between' on 'new_points' needs two <value> elements.")
    expect(await fault('<condition attribute="new_tags" operator="contain-values"/>')).toBe(
      "The FetchXML condition 'contain-values' on 'new_tags' needs one or more <value> elements.",
    )
    expect(await fault('<condition attribute="name" operator="last-x-days" value="3"/>')).toBe(
      "The FetchXML operator 'last-x-days' applies to a date and time column; 'name' is of type 'Edm.String'.",
    )
    expect(await fault('<condition attribute="new_due" operator="on" value="2024-02-30"/>')).toBe(
      "The value of the FetchXML operator 'on' is not a valid date.",
    )
    expect(
      await fault(
        '<condition attribute="new_points" operator="between"><value>1</value><value>x</value></condition>',
      ),
    ).toBe("The value 'x' in the <value> elements of 'between' is not a valid value of 'new_points'.")
    expect(await fault('<condition attribute="nope" operator="today"/>')).toBe(
      "Could not find a property named 'nope' on type 'Microsoft.Dynamics.CRM.new_ticket'.",
    )
    for (const op of ['last-fiscal-year', 'under', 'eq-userteams', 'eq-userlanguage']) {
      expect(await fault(`<condition attribute="new_due" operator="${op}" value="1"/>`)).toBe(
        `The FetchXML condition operator '${op}' is not supported by the emulator.`,
      )
    }
  })
})

import { describe, expect, it } from 'vitest'
import type { DataverseFault } from './errors.ts'
import { defineTable } from './metadata.ts'
import { ODataParseError, parseFilter } from './odata-filter.ts'
import { compileFilter, type FilterEnv, filterFor } from './query.ts'
import type { Row } from './store.ts'

// Dataverse query functions (Microsoft Learn, "Web API Query Function Reference"; meanings from the ConditionOperator
// EnumType page): parameters, the column types each takes, and the spans of the date functions in a user's time zone.

const ticket = defineTable({
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
})

const USER = '7a4d3c2b-1111-4a4a-8b8b-000000000001'
const UNIT = '7a4d3c2b-2222-4a4a-8b8b-000000000002'
// Wednesday 13 March 2024, 15:30 UTC
const NOW = Date.UTC(2024, 2, 13, 15, 30)
const envAt = (now = NOW, timeZone = 'UTC'): FilterEnv => ({
  now,
  timeZone,
  userId: USER,
  businessUnitId: UNIT,
})

function row(values: Record<string, unknown>): Row {
  const r: Row = new Array(ticket.columns.length + 1).fill(null)
  r[0] = 0
  for (const [k, v] of Object.entries(values)) r[(ticket.byName.get(k) as { index: number }).index] = v
  return r
}

const CRM = 'Microsoft.Dynamics.CRM.'
/** Whether a row due at `iso` (UTC) matches the query function `fn` with X = `x` (or no PropertyValue). */
const dueMatches = (fn: string, iso: string, x?: number, env = envAt()) => {
  const value = x === undefined ? '' : `,PropertyValue=${x}`
  return filterFor(
    ticket,
    `${CRM}${fn}(PropertyName='new_due'${value})`,
    undefined,
    env,
  )(row({ new_due: Date.parse(iso) / 1000 }))
}
/** The instants of `isos` that match, as a filter that holds for exactly those. */
const matching = (fn: string, isos: string[], x?: number, env?: FilterEnv) =>
  isos.filter((iso) => dueMatches(fn, iso, x, env))

const fault = (run: () => unknown): DataverseFault => {
  try {
    run()
  } catch (e) {
    return e as DataverseFault
  }
  throw new Error('no fault')
}

describe('query function parameters', () => {
  it('reads PropertyName and PropertyValue inline and from parameter aliases alike', () => {
    const inline = parseFilter(`${CRM}LastXHours(PropertyName='new_due',PropertyValue=12)`)
    expect(inline).toMatchObject({
      kind: 'function',
      fn: 'LastXHours',
      property: { kind: 'property', name: 'new_due' },
      value: { type: 'number', value: 12 },
    })
    const aliases: Record<string, string> = { '@p1': "'new_due'", '@p2': '12' }
    expect(
      parseFilter(`${CRM}LastXHours(PropertyName=@p1,PropertyValue=@p2)`, (n) => aliases[n]),
    ).toMatchObject({
      kind: 'function',
      fn: 'LastXHours',
      property: { name: 'new_due' },
      value: { value: 12 },
    })
    expect(parseFilter(`${CRM}Between(PropertyValues=["1","5"],PropertyName='new_points')`)).toMatchObject({
      kind: 'function',
      fn: 'Between',
      values: [
        { type: 'string', value: '1' },
        { type: 'string', value: '5' },
      ],
    })
    expect(parseFilter(`${CRM}Today(PropertyName='new_due')`)).toMatchObject({
      kind: 'function',
      fn: 'Today',
    })
  })

  it('refuses an unknown, repeated or missing parameter, saying what the function takes', () => {
    const at = (text: string) => {
      try {
        parseFilter(text)
      } catch (e) {
        expect(e).toBeInstanceOf(ODataParseError)
        return [(e as ODataParseError).position, (e as ODataParseError).message] as const
      }
      throw new Error(`parsed: ${text}`)
    }
    const takes = 'Microsoft.Dynamics.CRM.LastXDays takes PropertyName and PropertyValue (a whole number).'
    const wrongName = `${CRM}LastXDays(PropertyName='new_due',PropertyValues=[7])`
    expect(at(wrongName)).toEqual([wrongName.indexOf('PropertyValues'), expect.stringContaining(takes)])
    const missing = `x eq 1 or ${CRM}LastXDays(PropertyName='new_due')`
    expect(at(missing)).toEqual([10, expect.stringContaining(takes)])
    expect(at(`${CRM}LastXDays()`)[1]).toContain(takes)
    const twice = `${CRM}LastXDays(PropertyName='new_due',PropertyName='new_due')`
    expect(at(twice)[0]).toBe(twice.lastIndexOf('PropertyName'))
    expect(at(`${CRM}Today(PropertyName='new_due',PropertyValue=1)`)[1]).toContain(
      'Microsoft.Dynamics.CRM.Today takes PropertyName.',
    )
    expect(at(`${CRM}Between(PropertyName='new_points',PropertyValues=['1','2','3'])`)[1]).toContain(
      'takes PropertyName and PropertyValues (two values).',
    )
    expect(at(`${CRM}On(PropertyName='new_due',Value='2024-01-01')`)[1]).toContain(
      'takes PropertyName and PropertyValue.',
    )
  })

  it('refuses an X that is not a whole number of 0 or more, at the value', () => {
    for (const x of ['1.5', "'7'", '-1', 'null', '9007199254740993']) {
      const text = `${CRM}NextXDays(PropertyName='new_due',PropertyValue=${x})`
      expect(() => parseFilter(text), x).toThrow(ODataParseError)
      try {
        parseFilter(text)
      } catch (e) {
        expect((e as ODataParseError).position, x).toBe(text.indexOf(x))
        expect((e as Error).message, x).toContain('(a whole number)')
      }
    }
  })
})

describe('query functions on a column of the wrong type', () => {
  it('are a 400 naming the function, what it applies to and the column’s type', () => {
    const run = (text: string) => fault(() => filterFor(ticket, text, undefined, envAt()))
    const wrong = run(`${CRM}LastXDays(PropertyName='name',PropertyValue=7)`)
    expect(wrong.status).toBe(400)
    expect(wrong.code).toBe('0x80060888')
    expect(wrong.message).toBe(
      "The query function Microsoft.Dynamics.CRM.LastXDays applies to a date and time column; 'name' is of type 'Edm.String'.",
    )
    expect(run(`${CRM}EqualUserId(PropertyName='new_due')`).message).toContain(
      "applies to a unique identifier or lookup column; 'new_due' is of type 'Edm.DateTimeOffset'.",
    )
    expect(run(`${CRM}Between(PropertyName='name',PropertyValues=['a','b'])`).message).toContain(
      'applies to a number or date and time column',
    )
    expect(run(`${CRM}ContainValues(PropertyName='new_points',PropertyValues=['1'])`).message).toContain(
      "applies to a multi-select choice column; 'new_points' is of type 'Edm.Decimal'.",
    )
    expect(run(`${CRM}Today(PropertyName='new_tags')`).message).toContain("is of type 'MultiSelectPicklist'")
    expect(run(`${CRM}Today(PropertyName='nope')`).message).toBe(
      "Could not find a property named 'nope' on type 'Microsoft.Dynamics.CRM.new_ticket'.",
    )
    expect(run(`${CRM}NotIn(PropertyName='new_points',PropertyValues=['x'])`).message).toContain(
      "The value 'x' in PropertyValues is not a valid value of 'new_points'.",
    )
    expect(run(`${CRM}On(PropertyName='new_due',PropertyValue='2024-02-30')`).message).toBe(
      'The PropertyValue of Microsoft.Dynamics.CRM.On is not a valid date.',
    )
    expect(run(`${CRM}OnOrAfter(PropertyName='new_due',PropertyValue='soon')`).message).toContain(
      "must be a date such as '2024-05-01'",
    )
    expect(run(`${CRM}ContainValues(PropertyName='new_tags',PropertyValues=['one'])`).message).toContain(
      "is not an option value of 'new_tags'",
    )
  })
})

describe('set and range functions', () => {
  const points = (text: string, values: (number | null)[]) =>
    values.filter((v) => filterFor(ticket, text)(row({ new_points: v })))

  it('NotIn keeps the non-null values outside the list', () => {
    expect(
      points(`${CRM}NotIn(PropertyName='new_points',PropertyValues=['1','3'])`, [1, 2, 3, 4, null]),
    ).toEqual([2, 4])
  })

  it('Between and NotBetween include both ends, and neither holds for null', () => {
    const values = [0, 1, 3, 5, 6, null]
    expect(points(`${CRM}Between(PropertyName='new_points',PropertyValues=["1","5"])`, values)).toEqual([
      1, 3, 5,
    ])
    expect(points(`${CRM}NotBetween(PropertyName='new_points',PropertyValues=[1,5])`, values)).toEqual([0, 6])
    const dates = `${CRM}Between(PropertyName='new_due',PropertyValues=['2024-01-01','2024-01-31T12:00:00Z'])`
    const due = (iso: string) => filterFor(ticket, dates)(row({ new_due: Date.parse(iso) / 1000 }))
    expect(due('2024-01-01T00:00:00Z')).toBe(true)
    expect(due('2024-01-31T12:00:00Z')).toBe(true)
    expect(due('2023-12-31T23:59:59Z')).toBe(false)
    expect(due('2024-01-31T12:00:01Z')).toBe(false)
  })

  it('ContainValues holds when any listed option is chosen, DoesNotContainValues when none is', () => {
    const tags = (fn: string, values: string) =>
      ['1,3', '2', null].filter((v) =>
        filterFor(
          ticket,
          `${CRM}${fn}(PropertyName='new_tags',PropertyValues=${values})`,
        )(row({ new_tags: v })),
      )
    expect(tags('ContainValues', "['3']")).toEqual(['1,3'])
    expect(tags('ContainValues', '[2,3]')).toEqual(['1,3', '2'])
    expect(tags('DoesNotContainValues', "['3']")).toEqual(['2', null])
    expect(tags('DoesNotContainValues', "['1','2']")).toEqual([null])
  })
})

describe('user and business unit functions', () => {
  const team = (fn: string, values: (string | null)[], env?: FilterEnv) =>
    values.filter((v) =>
      filterFor(ticket, `${CRM}${fn}(PropertyName='new_team')`, undefined, env)(row({ new_team: v })),
    )
  const owners = (fn: string, values: (string | null)[], env?: FilterEnv) =>
    values.filter((v) =>
      filterFor(ticket, `${CRM}${fn}(PropertyName='ownerid')`, undefined, env)(row({ ownerid: v })),
    )
  const other = '7a4d3c2b-3333-4a4a-8b8b-000000000003'

  it('compare with the calling user and their business unit; the Not… forms keep null, like ne', () => {
    expect(owners('EqualUserId', [USER.toUpperCase(), other, null], envAt())).toEqual([USER.toUpperCase()])
    expect(owners('NotEqualUserId', [USER, other, null], envAt())).toEqual([other, null])
    expect(team('EqualBusinessId', [UNIT, other, null], envAt())).toEqual([UNIT])
    expect(team('NotEqualBusinessId', [UNIT, other, null], envAt())).toEqual([other, null])
  })

  it('match nothing (and the Not… forms everything) without a calling user', () => {
    expect(owners('EqualUserId', [USER, null])).toEqual([])
    expect(owners('NotEqualUserId', [USER, null])).toEqual([USER, null])
  })
})

describe('date functions, in UTC, on Wednesday 13 March 2024 at 15:30', () => {
  it('On, OnOrAfter and OnOrBefore take whole days, with the date quoted or bare', () => {
    const on = (fn: string, value: string, iso: string) =>
      filterFor(
        ticket,
        `${CRM}${fn}(PropertyName='new_due',PropertyValue=${value})`,
        undefined,
        envAt(),
      )(row({ new_due: Date.parse(iso) / 1000 }))
    for (const value of ["'2024-03-01'", '2024-03-01', "'2024-03-01T10:00:00Z'"]) {
      expect(on('On', value, '2024-03-01T00:00:00Z'), value).toBe(true)
      expect(on('On', value, '2024-03-01T23:59:59Z'), value).toBe(true)
      expect(on('On', value, '2024-03-02T00:00:00Z'), value).toBe(false)
      expect(on('On', value, '2024-02-29T23:59:59Z'), value).toBe(false)
    }
    expect(on('OnOrAfter', "'2024-03-01'", '2024-03-01T00:00:00Z')).toBe(true)
    expect(on('OnOrAfter', "'2024-03-01'", '2024-02-29T23:59:59Z')).toBe(false)
    expect(on('OnOrBefore', "'2024-03-01'", '2024-03-01T23:59:59Z')).toBe(true)
    expect(on('OnOrBefore', "'2024-03-01'", '2024-03-02T00:00:00Z')).toBe(false)
  })

  it('Today, Yesterday and Tomorrow are whole days', () => {
    const edges = [
      '2024-03-11T23:59:59Z',
      '2024-03-12T00:00:00Z',
      '2024-03-12T23:59:59Z',
      '2024-03-13T00:00:00Z',
      '2024-03-13T23:59:59Z',
      '2024-03-14T00:00:00Z',
      '2024-03-14T23:59:59Z',
      '2024-03-15T00:00:00Z',
    ]
    expect(matching('Yesterday', edges)).toEqual(edges.slice(1, 3))
    expect(matching('Today', edges)).toEqual(edges.slice(3, 5))
    expect(matching('Tomorrow', edges)).toEqual(edges.slice(5, 7))
  })

  it('weeks run Sunday through Saturday; months and years are calendar ones', () => {
    const days = [
      '2024-03-02',
      '2024-03-03',
      '2024-03-09',
      '2024-03-10',
      '2024-03-16',
      '2024-03-17',
      '2024-03-23',
      '2024-03-24',
    ]
    const at = days.map((d) => `${d}T12:00:00Z`)
    expect(matching('LastWeek', at)).toEqual(at.slice(1, 3))
    expect(matching('ThisWeek', at)).toEqual(at.slice(3, 5))
    expect(matching('NextWeek', at)).toEqual(at.slice(5, 7))
    const months = [
      '2024-01-31T23:59:59Z',
      '2024-02-01T00:00:00Z',
      '2024-02-29T23:59:59Z',
      '2024-03-01T00:00:00Z',
      '2024-03-31T23:59:59Z',
      '2024-04-01T00:00:00Z',
      '2024-04-30T23:59:59Z',
      '2024-05-01T00:00:00Z',
    ]
    expect(matching('LastMonth', months)).toEqual(months.slice(1, 3))
    expect(matching('ThisMonth', months)).toEqual(months.slice(3, 5))
    expect(matching('NextMonth', months)).toEqual(months.slice(5, 7))
    const years = [
      '2022-12-31T23:59:59Z',
      '2023-01-01T00:00:00Z',
      '2023-12-31T23:59:59Z',
      '2024-01-01T00:00:00Z',
      '2024-12-31T23:59:59Z',
      '2025-01-01T00:00:00Z',
      '2025-12-31T23:59:59Z',
      '2026-01-01T00:00:00Z',
    ]
    expect(matching('LastYear', years)).toEqual(years.slice(1, 3))
    expect(matching('ThisYear', years)).toEqual(years.slice(3, 5))
    expect(matching('NextYear', years)).toEqual(years.slice(5, 7))
  })

  it('Last7Days runs from midnight seven days ago to now, Next7Days from now to the end of the seventh day', () => {
    const at = [
      '2024-03-05T23:59:59Z',
      '2024-03-06T00:00:00Z',
      '2024-03-13T15:30:00Z',
      '2024-03-13T15:30:01Z',
      '2024-03-20T23:59:59Z',
      '2024-03-21T00:00:00Z',
    ]
    expect(matching('Last7Days', at)).toEqual(at.slice(1, 3))
    expect(matching('Next7Days', at)).toEqual(at.slice(2, 5))
  })

  it('LastX<unit> runs from midnight X units before today to now; NextX<unit> from now to the end of the day X units ahead', () => {
    const cases: [string, number, string, string][] = [
      // function, X, first instant inside, last instant inside
      ['LastXDays', 3, '2024-03-10T00:00:00Z', '2024-03-13T15:30:00Z'],
      ['LastXWeeks', 1, '2024-03-06T00:00:00Z', '2024-03-13T15:30:00Z'],
      ['LastXMonths', 1, '2024-02-13T00:00:00Z', '2024-03-13T15:30:00Z'],
      ['LastXYears', 1, '2023-03-13T00:00:00Z', '2024-03-13T15:30:00Z'],
      ['NextXDays', 3, '2024-03-13T15:30:00Z', '2024-03-16T23:59:59Z'],
      ['NextXWeeks', 1, '2024-03-13T15:30:00Z', '2024-03-20T23:59:59Z'],
      ['NextXMonths', 1, '2024-03-13T15:30:00Z', '2024-04-13T23:59:59Z'],
      ['NextXYears', 1, '2024-03-13T15:30:00Z', '2025-03-13T23:59:59Z'],
      ['LastXHours', 2, '2024-03-13T13:30:00Z', '2024-03-13T15:30:00Z'],
      ['NextXHours', 2, '2024-03-13T15:30:00Z', '2024-03-13T17:30:00Z'],
      ['LastXDays', 0, '2024-03-13T00:00:00Z', '2024-03-13T15:30:00Z'],
    ]
    for (const [fn, x, first, last] of cases) {
      const before = new Date(Date.parse(first) - 1000).toISOString()
      const after = new Date(Date.parse(last) + 1000).toISOString()
      expect(matching(fn, [before, first, last, after], x), `${fn}(${x})`).toEqual([first, last])
    }
  })

  it('a month back from the 31st lands on the last day of a shorter month', () => {
    const env = envAt(Date.UTC(2024, 2, 31, 12))
    expect(matching('LastXMonths', ['2024-02-28T23:59:59Z', '2024-02-29T00:00:00Z'], 1, env)).toEqual([
      '2024-02-29T00:00:00Z',
    ])
  })

  it('OlderThanX<unit> holds before now minus X (minutes, hours) or the same local time X units ago', () => {
    const cases: [string, number, string][] = [
      // function, X, the threshold: older is strictly before it
      ['OlderThanXMinutes', 30, '2024-03-13T15:00:00Z'],
      ['OlderThanXHours', 1, '2024-03-13T14:30:00Z'],
      ['OlderThanXDays', 1, '2024-03-12T15:30:00Z'],
      ['OlderThanXWeeks', 2, '2024-02-28T15:30:00Z'],
      ['OlderThanXMonths', 1, '2024-02-13T15:30:00Z'],
      ['OlderThanXYears', 1, '2023-03-13T15:30:00Z'],
    ]
    for (const [fn, x, threshold] of cases) {
      const before = new Date(Date.parse(threshold) - 1000).toISOString()
      expect(matching(fn, [before, threshold], x), fn).toEqual([before])
    }
  })
})

describe("date functions in the calling user's time zone", () => {
  it('put day and week boundaries at local midnight (Los Angeles, across the change to daylight saving time)', () => {
    const la = envAt(NOW, 'America/Los_Angeles') // 08:30 PDT on Wednesday 13 March
    expect(
      matching(
        'Today',
        ['2024-03-13T06:59:59Z', '2024-03-13T07:00:00Z', '2024-03-14T06:59:59Z', '2024-03-14T07:00:00Z'],
        undefined,
        la,
      ),
    ).toEqual(['2024-03-13T07:00:00Z', '2024-03-14T06:59:59Z'])
    // Sunday 10 March began at 00:00 PST (UTC−8); clocks went forward at 02:00 that day
    expect(matching('ThisWeek', ['2024-03-10T07:59:59Z', '2024-03-10T08:00:00Z'], undefined, la)).toEqual([
      '2024-03-10T08:00:00Z',
    ])
  })

  it('take the local date, which may already be tomorrow in UTC terms (Tokyo)', () => {
    const tokyo = envAt(NOW, 'Asia/Tokyo') // 00:30 on Thursday 14 March
    expect(
      matching(
        'Today',
        ['2024-03-13T14:59:59Z', '2024-03-13T15:00:00Z', '2024-03-14T14:59:59Z', '2024-03-14T15:00:00Z'],
        undefined,
        tokyo,
      ),
    ).toEqual(['2024-03-13T15:00:00Z', '2024-03-14T14:59:59Z'])
    const on = filterFor(
      ticket,
      `${CRM}On(PropertyName='new_due',PropertyValue='2024-03-14')`,
      undefined,
      tokyo,
    )
    expect(on(row({ new_due: Date.parse('2024-03-13T15:00:00Z') / 1000 }))).toBe(true)
    expect(on(row({ new_due: Date.parse('2024-03-14T15:00:00Z') / 1000 }))).toBe(false)
  })

  it('never match a null date', () => {
    for (const fn of ['Today', 'ThisYear', 'Last7Days']) {
      expect(filterFor(ticket, `${CRM}${fn}(PropertyName='new_due')`, undefined, envAt())(row({})), fn).toBe(
        false,
      )
    }
    expect(
      compileFilter(
        ticket,
        parseFilter(`${CRM}OlderThanXDays(PropertyName='new_due',PropertyValue=1)`),
        envAt(),
      )(row({})),
    ).toBe(false)
  })
})

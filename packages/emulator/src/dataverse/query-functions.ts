import { Fault } from './errors.ts'
import {
  type Category,
  category,
  EDM,
  type Predicate,
  propertyValues,
  resolveColumn,
} from './filter-values.ts'
import type { NavigationDef, TableDef } from './metadata.ts'
import type { Literal, QueryFunctionExpr } from './odata-filter.ts'
import type { Row } from './store.ts'
import { type CalendarUnit, instantOf, type LocalDate, localDate, shiftDate } from './zoned-time.ts'

// Dataverse query functions in $filter. Sources (Microsoft Learn): "Web API Query Function Reference" and each
// function's page (names, and which of PropertyName / PropertyValue / PropertyValues a function takes), "Filter rows"
// (query functions, lambda operators), and the ConditionOperator EnumType page for what each one means: Last7Days is
// "within the last seven days including today", LastWeek / ThisWeek / NextWeek run Sunday through Saturday (the week
// start is not configurable here), and day, week, month and year boundaries fall at midnight in the calling user's time
// zone. Learn does not spell out the ends of the X-functions; the emulator takes: LastX<unit> from midnight of the day
// X units before today up to now, NextX<unit> from now to the end of the day X units after today, LastXHours /
// NextXHours the X hours before / after now, OlderThanX<unit> before the same local time X units ago (minutes and
// hours: before now minus X). Last7Days / Next7Days are LastXDays / NextXDays with X = 7.

/** What a filter needs from the request beyond the row: the clock, the calling user and related rows. */
export interface FilterEnv {
  /** The emulator's time (ms since the epoch), read once per query. */
  now: number
  /** The calling user's IANA time zone. */
  timeZone: string
  /** The calling user (the impersonated one when the call impersonates). */
  userId?: string
  /** The calling user's business unit. */
  businessUnitId?: string
  /**
   * The rows related to a row through a navigation property (none or one for a single-valued one), after checking the
   * caller may read the related table; absent where a filter has no org.
   */
  navigate?: (def: TableDef, nav: NavigationDef) => { def: TableDef; rows: (row: Row) => Row[] }
}

/** The functions that need a column of one category, with what they need in words. */
const NEEDS: [RegExp, Category, string][] = [
  [/^(Not)?Between$/, 'number', 'a number or date and time column'],
  [/^(Not)?Equal(User|Business)Id$/, 'guid', 'a unique identifier or lookup column'],
  [/^(On|OnOrAfter|OnOrBefore|Today|Yesterday|Tomorrow)$/, 'datetime', 'a date and time column'],
  [/^(Last|This|Next)(7Days|Week|Month|Year)$/, 'datetime', 'a date and time column'],
  [/^(LastX|NextX|OlderThanX)/, 'datetime', 'a date and time column'],
]

const UNITS: Record<string, CalendarUnit> = { Days: 'day', Weeks: 'week', Months: 'month', Years: 'year' }
const HOUR = 3_600_000

/** `[from, to)` in ms for the date functions that name a span around now. */
function span(fn: string, x: number, now: number, zone: string): [number, number] {
  const today = localDate(zone, now)
  const midnight = (d: LocalDate) => instantOf(zone, d)
  const days = (n: number, from: LocalDate = today) => midnight(shiftDate(from, 'day', n))
  const week = shiftDate(today, 'day', -today.weekday)
  const month = { year: today.year, month: today.month, day: 1 }
  const year = { year: today.year, month: 1, day: 1 }
  const period = (start: LocalDate, unit: CalendarUnit, n: number): [number, number] => [
    midnight(shiftDate(start, unit, n)),
    midnight(shiftDate(start, unit, n + 1)),
  ]
  const x7 = fn === 'Last7Days' ? 'LastXDays' : fn === 'Next7Days' ? 'NextXDays' : fn
  const n = fn.endsWith('7Days') ? 7 : x
  switch (x7) {
    case 'Today':
      return [days(0), days(1)]
    case 'Yesterday':
      return [days(-1), days(0)]
    case 'Tomorrow':
      return [days(1), days(2)]
    case 'LastWeek':
    case 'ThisWeek':
    case 'NextWeek':
      return period(week, 'week', x7.startsWith('Last') ? -1 : x7.startsWith('This') ? 0 : 1)
    case 'LastMonth':
    case 'ThisMonth':
    case 'NextMonth':
      return period(month, 'month', x7.startsWith('Last') ? -1 : x7.startsWith('This') ? 0 : 1)
    case 'LastYear':
    case 'ThisYear':
    case 'NextYear':
      return period(year, 'year', x7.startsWith('Last') ? -1 : x7.startsWith('This') ? 0 : 1)
    case 'LastXHours':
      return [now - n * HOUR, now + 1]
    case 'NextXHours':
      return [now, now + n * HOUR + 1]
  }
  const unit = UNITS[x7.replace(/^(LastX|NextX)/, '')] as CalendarUnit
  return x7.startsWith('LastX')
    ? [midnight(shiftDate(today, unit, -n)), now + 1]
    : [now, days(1, shiftDate(today, unit, n))]
}

/** The instant (ms) before which OlderThanX<unit> holds. */
function olderThan(fn: string, x: number, now: number, zone: string): number {
  const unit = fn.slice('OlderThanX'.length)
  if (unit === 'Minutes') return now - x * 60_000
  if (unit === 'Hours') return now - x * HOUR
  const today = localDate(zone, now)
  return instantOf(zone, shiftDate(today, UNITS[unit] as CalendarUnit, -x), today.msOfDay)
}

/**
 * How messages name a function and its values: its $filter form by default; FetchXML names its condition operator and
 * `<value>` elements instead.
 */
export interface QueryFunctionWording {
  /** The subject of a sentence: "The query function Microsoft.Dynamics.CRM.On". */
  fn: string
  /** "The PropertyValue of Microsoft.Dynamics.CRM.On". */
  value: string
  /** "PropertyValues". */
  values: string
}

const filterWording = (fn: string): QueryFunctionWording => ({
  fn: `The query function Microsoft.Dynamics.CRM.${fn}`,
  value: `The PropertyValue of Microsoft.Dynamics.CRM.${fn}`,
  values: 'PropertyValues',
})

/** The local date a PropertyValue of On / OnOrAfter / OnOrBefore names ('2024-05-01', or a date literal). */
function dateOf(value: Literal | undefined, wording: QueryFunctionWording): LocalDate {
  const m =
    value?.type === 'string'
      ? /^(\d{4})-(\d{2})-(\d{2})(?:$|T)/.exec(value.value)
      : value?.type === 'datetime'
        ? /^(\d{4})-(\d{2})-(\d{2})/.exec(new Date(value.value).toISOString())
        : null
  if (!m) throw Fault.syntax(`${wording.value} must be a date such as '2024-05-01'.`)
  const date = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) }
  const check = shiftDate(date, 'day', 0)
  if (check.month !== date.month || check.day !== date.day)
    throw Fault.syntax(`${wording.value} is not a valid date.`)
  return date
}

const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v)

/** Compile a query function (other than `In`) on a column of `def` into a row predicate. */
export function compileQueryFunction(
  def: TableDef,
  e: QueryFunctionExpr,
  env: FilterEnv,
  wording: QueryFunctionWording = filterWording(e.fn),
): Predicate {
  const column = e.property.name
  const col = resolveColumn(def, column)
  const cat = category(col.type)
  const i = col.index
  const fn = e.fn
  const need = NEEDS.find(([re]) => re.test(fn))
  const fits = need
    ? cat === need[1] || (need[1] === 'number' && cat === 'datetime')
    : col.type === 'multiselectpicklist' || !fn.endsWith('ContainValues')
  if (!fits) {
    throw Fault.syntax(
      `${wording.fn} applies to ${need ? need[2] : 'a multi-select choice column'}; '${column}' is of type '${col.type === 'multiselectpicklist' ? 'MultiSelectPicklist' : EDM[cat]}'.`,
    )
  }
  const x = e.value?.type === 'number' ? e.value.value : 0
  switch (fn) {
    case 'NotIn': {
      const set = new Set(propertyValues(e.values ?? [], cat, column, wording.values))
      return (row) => row[i] !== null && row[i] !== undefined && !set.has(lower(row[i]))
    }
    case 'Between':
    case 'NotBetween': {
      const [lo, hi] = propertyValues(e.values ?? [], cat, column, wording.values) as [number, number]
      const inside = fn === 'Between'
      return (row) => {
        const v = row[i]
        return typeof v === 'number' && (v >= lo && v <= hi) === inside
      }
    }
    case 'ContainValues':
    case 'DoesNotContainValues': {
      const wanted = new Set(
        (e.values ?? []).map((l) => {
          const n = l.type === 'number' ? l.value : l.type === 'string' ? Number(l.value.trim()) : Number.NaN
          if (!Number.isInteger(n) || (l.type === 'string' && l.value.trim() === ''))
            throw Fault.syntax(`A value in ${wording.values} is not an option value of '${column}'.`)
          return n
        }),
      )
      const contains = fn === 'ContainValues'
      // a row with no options chosen contains none of them
      return (row) =>
        typeof row[i] === 'string'
          ? (row[i] as string).split(',').some((v) => wanted.has(Number(v))) === contains
          : !contains
    }
    case 'EqualUserId':
    case 'NotEqualUserId':
    case 'EqualBusinessId':
    case 'NotEqualBusinessId': {
      const id = (fn.endsWith('UserId') ? env.userId : env.businessUnitId)?.toLowerCase()
      const equal = !fn.startsWith('Not')
      // like `ne`, the Not… forms keep rows whose column is null
      return (row) => (id !== undefined && lower(row[i]) === id) === equal
    }
  }
  let from = Number.NEGATIVE_INFINITY
  let to = Number.POSITIVE_INFINITY
  if (fn === 'On' || fn === 'OnOrAfter' || fn === 'OnOrBefore') {
    const date = dateOf(e.value, wording)
    if (fn !== 'OnOrBefore') from = instantOf(env.timeZone, date)
    if (fn !== 'OnOrAfter') to = instantOf(env.timeZone, shiftDate(date, 'day', 1))
  } else if (fn.startsWith('OlderThanX')) to = olderThan(fn, x, env.now, env.timeZone)
  else [from, to] = span(fn, x, env.now, env.timeZone)
  // stored date-times are whole seconds since the epoch
  return (row) => {
    const v = row[i]
    return typeof v === 'number' && v * 1000 >= from && v * 1000 < to
  }
}

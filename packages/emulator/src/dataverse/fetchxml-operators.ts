import { Fault } from './errors.ts'
import type { Predicate } from './filter-values.ts'
import type { TableDef } from './metadata.ts'
import { QUERY_FUNCTIONS, type QueryFunctionExpr } from './odata-filter.ts'
import { compileQueryFunction, type FilterEnv } from './query-functions.ts'
import type { XmlElement } from './xml.ts'

// FetchXML condition operators that are Dataverse query functions under another name (Learn, "condition operator
// values"). How each takes its values (Learn, "Filter rows using FetchXml" § operator parameters): none for today …
// next-year and eq-userid … ne-businessid, the value attribute for the X operators and on / on-or-after / on-or-before,
// <value> elements for between / not-between (two) and contain-values / not-contain-values.
const UNITS = ['hours', 'days', 'weeks', 'months', 'years']
const title = (s: string) => `${s.charAt(0).toUpperCase()}${s.slice(1)}`

/** FetchXML operator → the query function of {@link QUERY_FUNCTIONS} it is. */
export const FUNCTION_OPERATORS: ReadonlyMap<string, string> = new Map([
  ['today', 'Today'],
  ['yesterday', 'Yesterday'],
  ['tomorrow', 'Tomorrow'],
  ['last-seven-days', 'Last7Days'],
  ['next-seven-days', 'Next7Days'],
  ...['last', 'this', 'next'].flatMap((w) =>
    ['week', 'month', 'year'].map((p) => [`${w}-${p}`, `${title(w)}${title(p)}`] as const),
  ),
  ...UNITS.flatMap((u) => [
    [`last-x-${u}`, `LastX${title(u)}`] as const,
    [`next-x-${u}`, `NextX${title(u)}`] as const,
  ]),
  ...['minutes', ...UNITS].map((u) => [`olderthan-x-${u}`, `OlderThanX${title(u)}`] as const),
  ['on', 'On'],
  ['on-or-after', 'OnOrAfter'],
  ['on-or-before', 'OnOrBefore'],
  ['between', 'Between'],
  ['not-between', 'NotBetween'],
  ['eq-userid', 'EqualUserId'],
  ['ne-userid', 'NotEqualUserId'],
  ['eq-businessid', 'EqualBusinessId'],
  ['ne-businessid', 'NotEqualBusinessId'],
  ['contain-values', 'ContainValues'],
  ['not-contain-values', 'DoesNotContainValues'],
])

/**
 * A condition whose operator is one of {@link FUNCTION_OPERATORS}: the query function itself, so FetchXML reads the
 * same clock, time zone, user and business unit as `$filter`.
 */
export function functionCondition(
  def: TableDef,
  el: XmlElement,
  attribute: string,
  op: string,
  env: FilterEnv,
): Predicate {
  const fn = FUNCTION_OPERATORS.get(op) as string
  const params = QUERY_FUNCTIONS.get(fn)
  const raw = el.attrs.get('value')
  const given = el.children.filter((c) => c.name === 'value').map((c) => c.text)
  const where = `The FetchXML condition '${op}' on '${attribute}'`
  const e: QueryFunctionExpr = {
    kind: 'function',
    fn,
    position: 0,
    property: { kind: 'property', name: attribute, position: 0 },
  }
  if (params === 'name') {
    if (raw !== undefined || given.length > 0) throw Fault.syntax(`${where} takes no value.`)
  } else if (params === 'value' || params === 'count') {
    if (raw === undefined || given.length > 0)
      throw Fault.syntax(`${where} needs its value in the value attribute.`)
    if (params === 'count' && !/^\d{1,9}$/.test(raw.trim()))
      throw Fault.syntax(`${where} needs a whole number as its value; '${raw.slice(0, 40)}' is not one.`)
    e.value = params === 'count' ? { type: 'number', value: Number(raw) } : { type: 'string', value: raw }
  } else {
    const pair = params === 'pair'
    if (raw !== undefined || (pair ? given.length !== 2 : given.length === 0)) {
      throw Fault.syntax(`${where} needs ${pair ? 'two <value> elements' : 'one or more <value> elements'}.`)
    }
    e.values = given.map((value) => ({ type: 'string', value }))
  }
  return compileQueryFunction(def, e, env, {
    fn: `The FetchXML operator '${op}'`,
    value: `The value of the FetchXML operator '${op}'`,
    values: `the <value> elements of '${op}'`,
  })
}

import type { ColumnType } from '../world/dataverse-seed.ts'
import { Fault } from './errors.ts'
import type { ColumnDef, TableDef } from './metadata.ts'
import type { Literal } from './odata-filter.ts'
import type { Row } from './store.ts'

export type Category = 'guid' | 'string' | 'number' | 'boolean' | 'datetime' | 'null'
export const category = (t: ColumnType): Category =>
  t === 'uniqueidentifier' || t === 'lookup' || t === 'file'
    ? 'guid'
    : t === 'string' || t === 'memo' || t === 'multiselectpicklist'
      ? 'string'
      : t === 'boolean'
        ? 'boolean'
        : t === 'datetime'
          ? 'datetime'
          : 'number'
export const EDM: Record<Category, string> = {
  guid: 'Edm.Guid',
  string: 'Edm.String',
  number: 'Edm.Decimal',
  boolean: 'Edm.Boolean',
  datetime: 'Edm.DateTimeOffset',
  null: 'null',
}

/** Resolve a property name used in a query (`name`, `_primarycontactid_value`, a lookup's own name). */
export function resolveColumn(def: TableDef, name: string): ColumnDef {
  const col = def.byLookupValue.get(name) ?? def.byName.get(name)
  if (!col) throw Fault.unknownProperty(name, def.logicalName)
  return col
}

export type Predicate = (row: Row) => boolean
export type Operand = { get: (row: Row) => unknown; cat: Category }

export function inValue(text: string, cat: Category, column: string, label = 'PropertyValues'): Literal {
  const bad = () =>
    Fault.syntax(`The value '${text.slice(0, 50)}' in ${label} is not a valid value of '${column}'.`)
  if (cat === 'number') {
    if (!/^-?\d+(\.\d+)?$/.test(text.trim())) throw bad()
    return { type: 'number', value: Number(text) }
  }
  if (cat === 'boolean') {
    if (text !== 'true' && text !== 'false') throw bad()
    return { type: 'boolean', value: text === 'true' }
  }
  if (cat === 'datetime') {
    const ms = Date.parse(text)
    if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(ms)) throw bad()
    return { type: 'datetime', value: ms }
  }
  return { type: 'string', value: text }
}

/**
 * The values of a query function's PropertyValues, as comparable values of a column of category `cat` (strings and
 * GUIDs lower-cased, date-times in seconds). PropertyValues is Collection(Edm.String): a string is read as the
 * column's type. `label` names the values in messages (FetchXML's `<value>` elements).
 */
export function propertyValues(
  values: Literal[],
  cat: Category,
  column: string,
  label = 'PropertyValues',
): unknown[] {
  return values.map((l) => {
    const lv = literalValue(l.type === 'string' ? inValue(l.value, cat, column, label) : l)
    if (lv.cat !== cat && !(cat === 'guid' && lv.cat === 'string')) {
      throw Fault.syntax(`A value in ${label} does not match the type of '${column}'.`)
    }
    return typeof lv.value === 'string' ? lv.value.toLowerCase() : lv.value
  })
}

export function literalValue(lit: Literal): { value: unknown; cat: Category } {
  switch (lit.type) {
    case 'null':
      return { value: null, cat: 'null' }
    case 'string':
      return { value: lit.value.toLowerCase(), cat: 'string' }
    case 'datetime':
      // stored date-times are seconds since the epoch
      return { value: lit.value / 1000, cat: 'datetime' }
    default:
      return { value: lit.value, cat: lit.type }
  }
}

export function compareValues(a: unknown, b: unknown, cat: Category): number {
  if (cat === 'string') {
    const x = (a as string).toLowerCase()
    const y = b as string
    return x < y ? -1 : x > y ? 1 : 0
  }
  if (cat === 'boolean') return Number(a) - Number(b)
  if (cat === 'guid') return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0
  return (a as number) - (b as number)
}

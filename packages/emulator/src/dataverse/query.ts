import { Fault } from './errors.ts'
import { type ColumnAccess, pathAccess } from './filter-path.ts'
import {
  type Category,
  category,
  compareValues,
  EDM,
  literalValue,
  type Operand,
  type Predicate,
  propertyValues,
  resolveColumn,
} from './filter-values.ts'
import type { ColumnDef, NavigationDef, TableDef } from './metadata.ts'
import {
  type AliasValues,
  type CompareOp,
  type FilterExpr,
  type LambdaExpr,
  ODataParseError,
  parseFilter,
} from './odata-filter.ts'
import { compileQueryFunction, type FilterEnv } from './query-functions.ts'
import type { Row } from './store.ts'

const isColumn = (e: FilterExpr): e is FilterExpr & { kind: 'property' | 'path' } =>
  e.kind === 'property' || e.kind === 'path'

const OP_NAMES: Record<CompareOp, string> = {
  eq: 'Equal',
  ne: 'NotEqual',
  gt: 'GreaterThan',
  ge: 'GreaterThanOrEqual',
  lt: 'LessThan',
  le: 'LessThanOrEqual',
}

/** `nav/any(…)` / `nav/all(…)`: the body holds for some / every row related through a collection-valued navigation. */
function compileLambda(def: TableDef, e: LambdaExpr, env: FilterEnv): Predicate {
  const nav = def.navigations.get(e.nav)
  if (!nav) throw Fault.unknownProperty(e.nav, def.logicalName)
  if (nav.kind !== 'collection') {
    throw Fault.syntax(
      `The navigation property '${e.nav}' is single-valued; ${e.op} applies to collection-valued navigation properties.`,
    )
  }
  if (!env.navigate) throw Fault.syntax(`The lambda operator ${e.op} is not available in this filter.`)
  const related = env.navigate(def, nav)
  const body = e.body ? compileFilter(related.def, e.body, env) : () => true
  return e.op === 'any' ? (row) => related.rows(row).some(body) : (row) => related.rows(row).every(body)
}

/**
 * Compile a parsed `$filter` into a row predicate for a table; unknown columns and type mismatches are faults. `env`
 * gives the query functions the clock and the calling user, and the lambda operators the related rows.
 */
export function compileFilter(def: TableDef, expr: FilterExpr, env: FilterEnv = defaultEnv()): Predicate {
  // a column of the row, or of a related row through single-valued navigation properties
  const column = (e: FilterExpr & { kind: 'property' | 'path' }): ColumnAccess => {
    if (e.kind === 'path') return pathAccess(def, e, env)
    const col = resolveColumn(def, e.name)
    const i = col.index
    return { col, get: (row) => row[i] }
  }
  const operand = (e: FilterExpr): Operand => {
    if (e.kind === 'property' || e.kind === 'path') {
      const { col, get } = column(e)
      return { get, cat: category(col.type) }
    }
    if (e.kind === 'literal') {
      const { value, cat } = literalValue(e.literal)
      return { get: () => value, cat }
    }
    throw Fault.syntax(
      'The query specified in the URI is not valid. A comparison needs a property or a literal on each side.',
    )
  }
  // A chain of thousands of `or` (or `and`) terms parses into a tree as deep as the chain: walk its left spine in
  // a loop and combine the terms flat, so neither compiling nor evaluating recurses once per term.
  const chain = (e: FilterExpr & { kind: 'and' | 'or' }): Predicate => {
    const terms: FilterExpr[] = []
    let node: FilterExpr = e
    while (node.kind === e.kind) {
      terms.push(node.right)
      node = node.left
    }
    terms.push(node)
    const compiled = terms.reverse().map(bool)
    return e.kind === 'and' ? (row) => compiled.every((p) => p(row)) : (row) => compiled.some((p) => p(row))
  }
  const int32Mismatch = (e: FilterExpr & { kind: 'compare' }) => {
    const [prop, lit] = isColumn(e.left) ? [e.left, e.right] : [e.right, e.left]
    if (!isColumn(prop) || lit.kind !== 'literal' || lit.literal.type !== 'number') return undefined
    const type = column(prop).col.type
    const v = lit.literal.value
    const outside = Number.isInteger(v) && (v > 2_147_483_647 || v < -2_147_483_648)
    return (type === 'integer' || type === 'picklist') && outside ? prop.name : undefined
  }
  const bool = (e: FilterExpr): Predicate => {
    switch (e.kind) {
      case 'and':
      case 'or':
        return chain(e)
      case 'not': {
        const o = bool(e.operand)
        return (row) => !o(row)
      }
      case 'call': {
        const [target, arg] = e.args.map(operand) as [Operand, Operand]
        if (target.cat !== 'string' || arg.cat !== 'string') {
          throw Fault.syntax(`The function '${e.fn}' takes a string property and a string literal.`)
        }
        const fn = e.fn
        return (row) => {
          const v = target.get(row)
          const needle = arg.get(row)
          if (typeof v !== 'string' || typeof needle !== 'string') return false
          const hay = v.toLowerCase()
          return fn === 'contains'
            ? hay.includes(needle)
            : fn === 'startswith'
              ? hay.startsWith(needle)
              : hay.endsWith(needle)
        }
      }
      case 'in': {
        const prop = operand(e.property)
        const set = new Set(propertyValues(e.values, prop.cat, e.property.name))
        return (row) => {
          const v = prop.get(row)
          return set.has(typeof v === 'string' ? v.toLowerCase() : v)
        }
      }
      case 'function':
        return compileQueryFunction(def, e, env)
      case 'lambda':
        return compileLambda(def, e, env)
      case 'compare': {
        const mismatch = int32Mismatch(e)
        if (mismatch) {
          throw Fault.syntax(
            `The literal compared with '${mismatch}' does not fit its type 'Edm.Int32' (−2147483648 to 2147483647).`,
          )
        }
        const l = operand(e.left)
        const r = operand(e.right)
        const cat = l.cat === 'null' ? r.cat : l.cat
        if (l.cat !== 'null' && r.cat !== 'null' && l.cat !== r.cat) {
          throw Fault.syntax(
            `A binary operator with incompatible types was detected. Found operand types '${EDM[l.cat]}' and '${EDM[r.cat]}' for operator kind '${OP_NAMES[e.op]}'.`,
          )
        }
        const op = e.op
        return (row) => {
          const a = l.get(row)
          const b = r.get(row)
          if (a === null || a === undefined || b === null || b === undefined) {
            const an = a === null || a === undefined
            const bn = b === null || b === undefined
            return op === 'eq' ? an && bn : op === 'ne' ? an !== bn : false
          }
          const c = compareValues(a, b, cat)
          switch (op) {
            case 'eq':
              return c === 0
            case 'ne':
              return c !== 0
            case 'gt':
              return c > 0
            case 'ge':
              return c >= 0
            case 'lt':
              return c < 0
            case 'le':
              return c <= 0
          }
        }
      }
      case 'property':
      case 'path': {
        const { col, get } = column(e)
        if (col.type !== 'boolean')
          throw Fault.syntax(`The property '${e.name}' is not a boolean expression.`)
        return (row) => get(row) === true
      }
      case 'literal':
        if (e.literal.type === 'boolean') {
          const v = e.literal.value
          return () => v
        }
        throw Fault.syntax('The $filter expression must evaluate to a boolean.')
    }
  }
  return bool(expr)
}

/** Parse and compile `$filter` text (with the request's parameter aliases), turning parse errors into Dataverse's 400. */
export function filterFor(def: TableDef, text: string, aliases?: AliasValues, env?: FilterEnv): Predicate {
  try {
    return compileFilter(def, parseFilter(text, aliases, { paths: true }), env)
  } catch (e) {
    if (e instanceof ODataParseError) throw Fault.syntax(e.message)
    throw e
  }
}

export interface OrderBy {
  col: ColumnDef
  desc: boolean
}

export function parseOrderBy(def: TableDef, text: string): OrderBy[] {
  return splitTop(text).map((part) => {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s+(asc|desc))?\s*$/.exec(part)
    if (!m) throw Fault.syntax(`Syntax error in $orderby '${text}'.`)
    return { col: resolveColumn(def, m[1] as string), desc: m[2] === 'desc' }
  })
}

export function parseSelect(def: TableDef, text: string): ColumnDef[] {
  const cols = splitTop(text).map((s) => s.trim())
  if (cols.some((c) => c === '')) throw Fault.syntax(`Syntax error in $select '${text}'.`)
  if (cols.includes('*')) return def.columns
  const out: ColumnDef[] = []
  for (const c of cols) {
    const col = resolveColumn(def, c)
    if (!out.includes(col)) out.push(col)
  }
  return out
}

export interface ExpandItem {
  nav: NavigationDef
  select?: string
  filter?: string
  orderby?: string
  top?: number
}

/** `$expand=nav($select=a,b;$filter=...;$orderby=...;$top=n),other` — one level deep. */
export function parseExpand(def: TableDef, text: string): ExpandItem[] {
  return splitTop(text).map((part) => {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$/s.exec(part)
    if (!m) throw Fault.syntax(`Syntax error in $expand '${text}'.`)
    const name = m[1] as string
    const nav = def.navigations.get(name)
    if (!nav) throw Fault.unknownProperty(name, def.logicalName)
    const item: ExpandItem = { nav }
    for (const opt of splitTop(m[2] ?? '', ';')) {
      if (opt.trim() === '') continue
      const eq = opt.indexOf('=')
      const key = opt.slice(0, eq).trim()
      const value = opt.slice(eq + 1)
      if (eq < 0) throw Fault.syntax(`Syntax error in $expand '${text}'.`)
      if (key === '$select') item.select = value
      else if (key === '$filter') item.filter = value
      else if (key === '$orderby') item.orderby = value
      else if (key === '$top') item.top = parseTop(value)
      else if (key === '$expand') throw Fault.syntax('Only one level of $expand is supported.')
      else throw Fault.syntax(`The query option '${key}' is not supported inside $expand.`)
    }
    return item
  })
}

export function parseTop(text: string): number {
  if (!/^\d{1,9}$/.test(text.trim()))
    throw Fault.syntax(`Invalid value '${text}' for $top query option found.`)
  return Number(text)
}

/** Split on a separator outside parentheses and quotes. */
export function splitTop(text: string, sep = ','): string[] {
  const out: string[] = []
  let depth = 0
  let quoted = false
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === "'") quoted = !quoted
    else if (!quoted && c === '(') depth++
    else if (!quoted && c === ')') depth--
    else if (!quoted && depth === 0 && c === sep) {
      out.push(text.slice(start, i))
      start = i + 1
    }
  }
  if (depth !== 0 || quoted)
    throw Fault.syntax(`Syntax error: unbalanced parentheses or quotes in '${text}'.`)
  out.push(text.slice(start))
  return out
}

/** Compare two rows by an `$orderby` (nulls first ascending, as SQL Server does), then by insertion order. */
export function rowComparator(orderBy: OrderBy[]): (a: Row, b: Row) => number {
  return (a, b) => {
    for (const { col, desc } of orderBy) {
      const c = compareNullable(a[col.index], b[col.index], category(col.type))
      if (c !== 0) return desc ? -c : c
    }
    return (a[0] as number) - (b[0] as number)
  }
}

export function compareNullable(a: unknown, b: unknown, cat: Category): number {
  const an = a === null || a === undefined
  const bn = b === null || b === undefined
  if (an || bn) return an && bn ? 0 : an ? -1 : 1
  if (cat === 'string') {
    const x = (a as string).toLowerCase()
    const y = (b as string).toLowerCase()
    return x < y ? -1 : x > y ? 1 : 0
  }
  return compareValues(a, b, cat)
}

/** Without a request: real time in UTC, no calling user and no related rows. */
const defaultEnv = (): FilterEnv => ({ now: Date.now(), timeZone: 'UTC' })

export type { Predicate } from './filter-values.ts'
export type { FilterEnv } from './query-functions.ts'
export { category, resolveColumn }

import type { Json } from './definitions-shapes.ts'
import { DataverseFault, Fault } from './errors.ts'
import { type FilterExpr, type Literal, ODataParseError, parseFilter } from './odata-filter.ts'
import type { OrgModel } from './org-model.ts'
import { parseKeyLiteral } from './paths.ts'
import type { ApiRequest, CallContext } from './request.ts'
import { GUID_RE } from './values.ts'

// What every schema definitions handler reads from a request: the key, the query options ($select, $filter,
// $expand, applied by `shape`), and the 403/404 it answers.

export const NS = 'Microsoft.Dynamics.CRM'

/** A request to a definitions root that passed the shared checks (a GET, the root's read privilege). */
export interface DefinitionCall {
  org: OrgModel
  ctx: CallContext
  req: ApiRequest
  segments: string[]
  root: string
  /** The key of the first segment (`EntityDefinitions(LogicalName='account')`), if it has one. */
  key: string | undefined
}

export function requirePrivilege(ctx: CallContext, privilege: string): void {
  if (!ctx.can(privilege)) throw Fault.privilegeDenied(ctx.userId, privilege)
}

export function notFound(what: string, key: string): DataverseFault {
  // the 404 Dataverse answers for an unknown table name (ObjectDoesNotExist)
  return new DataverseFault(
    404,
    '0x80040217',
    what === 'entity'
      ? `The entity with a name = '${key}' with namemapping = 'Logical' was not found in the MetadataCache.`
      : `Could not find ${what} with key ${key}.`,
  )
}

/** `LogicalName='x'`, `<guid>` or `MetadataId=<guid>`: the name or id a key names. */
export function parseDefinitionKey(key: string, nameProperty: string): { name?: string; id?: string } {
  const m = /^\s*([A-Za-z]+)\s*=\s*(.+)$/s.exec(key)
  const prop = m ? (m[1] as string) : 'MetadataId'
  const value = parseKeyLiteral(m ? (m[2] as string) : key)
  if (prop === 'MetadataId' && typeof value === 'string' && GUID_RE.test(value)) return { id: value }
  if (prop === nameProperty && typeof value === 'string') return { name: value }
  throw Fault.syntax(
    `The key '${key}' is not valid here: use (${nameProperty}='name') or the MetadataId (a GUID).`,
  )
}

export interface QueryOptions {
  select?: string[] | undefined
  filter?: FilterExpr | undefined
  expand: ExpandOption[]
}

/** One `$expand` item with its nested `$select` / `$filter` (`Attributes($select=LogicalName;$filter=…)`). */
export interface ExpandOption {
  name: string
  select?: string[]
  filter?: FilterExpr
}

/** Split on `separator` outside quotes and parentheses. */
export function splitTopLevel(text: string, separator = ','): string[] {
  const out: string[] = []
  let depth = 0
  let quoted = false
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === "'") quoted = !quoted
    else if (quoted) continue
    else if (c === '(') depth++
    else if (c === ')') depth--
    else if (c === separator && depth === 0) {
      out.push(text.slice(start, i).trim())
      start = i + 1
    }
  }
  out.push(text.slice(start).trim())
  return out.filter((s) => s !== '')
}

function parseDefinitionFilter(filter: string): FilterExpr {
  // enum literals (`Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'`) compare as their member name
  const text = filter.replace(/Microsoft\.Dynamics\.CRM\.[A-Za-z]+'([^']*)'/g, "'$1'")
  try {
    return parseFilter(text)
  } catch (e) {
    if (e instanceof ODataParseError) throw Fault.syntax(`Syntax error in $filter: ${e.message}`)
    throw e
  }
}

// Learn, "Query table definitions using the Web API": `$expand=Attributes($select=LogicalName;$filter=AttributeType
// eq Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist')`.
function parseExpandItem(name: string, nested: string | undefined): ExpandOption {
  const out: ExpandOption = { name }
  for (const option of splitTopLevel(nested ?? '', ';')) {
    const m = /^(\$[a-z]+)=(.*)$/s.exec(option)
    if (m?.[1] === '$select') out.select = splitTopLevel(m[2] as string)
    else if (m?.[1] === '$filter') out.filter = parseDefinitionFilter(m[2] as string)
    else
      throw Fault.syntax(
        `The option '${option}' in $expand=${name}(…) is not supported on schema definitions: use $select and $filter.`,
      )
  }
  return out
}

export function parseOptions(url: URL): QueryOptions {
  const p = url.searchParams
  const out: QueryOptions = { expand: [] }
  const select = p.get('$select')
  if (select !== null) out.select = splitTopLevel(select)
  const filter = p.get('$filter')
  if (filter !== null) out.filter = parseDefinitionFilter(filter)
  const expand = p.get('$expand')
  if (expand !== null) {
    for (const item of splitTopLevel(expand)) {
      const m = /^([A-Za-z]+)(?:\((.*)\))?$/s.exec(item)
      if (!m) throw Fault.syntax(`The $expand item '${item}' is not valid.`)
      out.expand.push(parseExpandItem(m[1] as string, m[2]))
    }
  }
  if (p.has('$orderby'))
    throw Fault.syntax('The query parameter $orderby is not supported on schema definitions.')
  return out
}

function literalValue(l: Literal): unknown {
  return l.type === 'null' ? null : l.value
}

function evaluate(expr: FilterExpr, item: Json, typeName: string): unknown {
  switch (expr.kind) {
    case 'literal':
      return literalValue(expr.literal)
    case 'property': {
      if (!(expr.name in item)) throw Fault.unknownProperty(expr.name, typeName)
      const v = item[expr.name]
      return v !== null && typeof v === 'object' && 'Value' in v ? (v as { Value: unknown }).Value : v
    }
    case 'compare': {
      const a = evaluate(expr.left, item, typeName)
      const b = evaluate(expr.right, item, typeName)
      const cmp = (x: unknown, y: unknown) =>
        typeof x === 'string' && typeof y === 'string'
          ? x.toLowerCase().localeCompare(y.toLowerCase())
          : Number(x) - Number(y)
      switch (expr.op) {
        case 'eq':
          return typeof a === 'string' && typeof b === 'string'
            ? a.toLowerCase() === b.toLowerCase()
            : a === b
        case 'ne':
          return typeof a === 'string' && typeof b === 'string'
            ? a.toLowerCase() !== b.toLowerCase()
            : a !== b
        case 'gt':
          return cmp(a, b) > 0
        case 'ge':
          return cmp(a, b) >= 0
        case 'lt':
          return cmp(a, b) < 0
        case 'le':
          return cmp(a, b) <= 0
      }
      return false
    }
    case 'and':
      return evaluate(expr.left, item, typeName) === true && evaluate(expr.right, item, typeName) === true
    case 'or':
      return evaluate(expr.left, item, typeName) === true || evaluate(expr.right, item, typeName) === true
    case 'not':
      return evaluate(expr.operand, item, typeName) !== true
    case 'call': {
      const [x, y] = expr.args.map((a) => String(evaluate(a, item, typeName) ?? '').toLowerCase()) as [
        string,
        string,
      ]
      return expr.fn === 'contains'
        ? x.includes(y)
        : expr.fn === 'startswith'
          ? x.startsWith(y)
          : x.endsWith(y)
    }
    case 'in': {
      const v = evaluate(expr.property, item, typeName)
      return expr.values.some((l) => literalValue(l) === v)
    }
    case 'function':
    case 'lambda':
      throw Fault.syntax(
        `The emulator does not emulate ${expr.kind === 'lambda' ? `the lambda operator ${expr.op}` : `the query function Microsoft.Dynamics.CRM.${expr.fn}`} on schema definitions.`,
      )
  }
}

/** Apply $filter and $select; `keep` lists the properties every item keeps (its type and id). */
export function shape(items: Json[], opts: QueryOptions, typeName: string, keep = ['MetadataId']): Json[] {
  const filter = opts.filter
  const kept = filter ? items.filter((i) => evaluate(filter, i, typeName) === true) : items
  const select = opts.select
  if (!select) return kept
  const known = new Set(items.flatMap((i) => Object.keys(i)))
  for (const s of select) if (items.length > 0 && !known.has(s)) throw Fault.unknownProperty(s, typeName)
  return kept.map((i) =>
    Object.fromEntries(
      Object.entries(i).filter(([k]) => k === '@odata.type' || keep.includes(k) || select.includes(k)),
    ),
  )
}

export const contextSelect = (opts: QueryOptions) => (opts.select ? `(${opts.select.join(',')})` : '')

import { DataverseError } from './errors.ts'

const FILTER = Symbol.for('@dataverse-s2s/webapi.filter')
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A piece of OData expression text whose values were all escaped. Build it with {@link odata}. */
export interface ODataExpression {
  readonly [FILTER]: true
  /** The expression text, ready for `$filter` (before URL encoding). */
  toString(): string
}

/** A GUID literal (`accountid eq 00000000-...`), written bare as OData expects. Build it with {@link guid}. */
export interface GuidLiteral {
  readonly guid: string
}

/** A record key: its GUID, or an alternate key as `{ accountnumber: 'ABC' }` (composite keys: several members). */
export type RecordKey = string | Readonly<Record<string, string | number | boolean | GuidLiteral | null>>

/** A value that can be interpolated into an {@link odata} expression. */
export type ODataValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | Date
  | GuidLiteral
  | ODataExpression
  | readonly ODataValue[]

function expression(text: string): ODataExpression {
  return { [FILTER]: true, toString: () => text }
}

export function isODataExpression(value: unknown): value is ODataExpression {
  return typeof value === 'object' && value !== null && (value as { [FILTER]?: unknown })[FILTER] === true
}

/**
 * Marks a string as a GUID literal. Throws if it is not a GUID, so it can never carry other syntax.
 * @throws {DataverseError} `INVALID_ARGUMENT` when `value` is not a GUID.
 * @example
 * const filter = odata`_parentaccountid_value eq ${guid(parentId)}` // no quotes: a GUID literal
 */
export function guid(value: string): GuidLiteral {
  if (!GUID_RE.test(value)) {
    throw new DataverseError(
      'INVALID_ARGUMENT',
      'guid() needs a GUID like 00000000-0000-0000-0000-000000000000.',
    )
  }
  return { guid: value.toLowerCase() }
}

export function isGuid(value: string): boolean {
  return GUID_RE.test(value)
}

// Microsoft Learn, Filter rows ("Manage single quotes"): the values of a Dataverse query function's string array
// are written in double quotes, `PropertyValues=["O'Brian","OBryan"]`, so single quotes stay as they are. Every
// item is a JSON string (GUIDs, numbers and dates too: the function compares them as the column's type).
function arrayItem(value: ODataValue): string {
  if (value === null) return 'null'
  if (Array.isArray(value) || isODataExpression(value)) {
    throw new DataverseError('INVALID_ARGUMENT', 'An array in an OData expression holds plain values only.')
  }
  const literal = formatLiteral(value)
  return JSON.stringify(typeof value === 'string' ? value : literal)
}

/**
 * Formats one value as an OData literal. Strings are quoted with `'` doubled, so a value can never end its
 * literal early; numbers must be finite; dates become ISO 8601; arrays become `["a","b"]` (for `In`).
 * @throws {DataverseError} `INVALID_ARGUMENT` for values that have no literal (NaN, objects, undefined).
 * @example
 * formatLiteral("O'Neil") // "'O''Neil'"
 * formatLiteral(new Date('2026-01-31T00:00:00Z')) // '2026-01-31T00:00:00.000Z'
 */
export function formatLiteral(value: ODataValue): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
      return `'${value.replaceAll("'", "''")}'`
    case 'number':
      if (!Number.isFinite(value)) {
        throw new DataverseError(
          'INVALID_ARGUMENT',
          `Cannot use ${value} in an OData expression; pass a finite number.`,
        )
      }
      return String(value)
    case 'bigint':
      return value.toString()
    case 'boolean':
      return value ? 'true' : 'false'
    case 'object':
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) {
          throw new DataverseError('INVALID_ARGUMENT', 'Cannot use an invalid Date in an OData expression.')
        }
        return value.toISOString()
      }
      if (Array.isArray(value)) return `[${value.map((v: ODataValue) => arrayItem(v)).join(',')}]`
      if (isODataExpression(value)) return `(${value.toString()})`
      if ('guid' in value && typeof value.guid === 'string' && GUID_RE.test(value.guid)) return value.guid
      break
  }
  throw new DataverseError(
    'INVALID_ARGUMENT',
    `Cannot use a value of type ${typeof value} in an OData expression; pass a string, number, boolean, null, Date, guid() or array.`,
  )
}

/**
 * Tagged template for `$filter` (and other OData expressions): every interpolated value becomes a literal.
 * Nested `odata` expressions are inserted in parentheses.
 * @example
 * const filter = odata`name eq ${userInput} and revenue gt ${1000} and _parentaccountid_value eq ${guid(id)}`
 * await client.query('accounts', { filter })
 */
export function odata(strings: TemplateStringsArray, ...values: ODataValue[]): ODataExpression {
  // Stryker disable next-line StringLiteral: a template always has one more string than values, the fallback never runs
  let text = strings[0] ?? ''
  for (let i = 0; i < values.length; i++) {
    // Stryker disable next-line StringLiteral: as above, strings[i + 1] always exists
    text += formatLiteral(values[i] as ODataValue) + (strings[i + 1] ?? '')
  }
  return expression(text)
}

function join(operator: 'and' | 'or', parts: (ODataExpression | undefined | false)[]): ODataExpression {
  const present = parts.filter((p): p is ODataExpression => isODataExpression(p))
  if (present.length === 0) {
    throw new DataverseError('INVALID_ARGUMENT', `${operator}() needs at least one expression.`)
  }
  if (present.length === 1) return present[0] as ODataExpression
  return expression(present.map((p) => `(${p.toString()})`).join(` ${operator} `))
}

/**
 * Joins expressions with `and`, each in parentheses; `undefined`/`false` entries are skipped (optional filters).
 * @example
 * const filter = and(odata`statecode eq ${0}`, search !== '' && odata`contains(name, ${search})`)
 * const page = await client.query('accounts', { filter, select: ['name'] })
 */
export function and(...parts: (ODataExpression | undefined | false)[]): ODataExpression {
  return join('and', parts)
}

/**
 * Joins expressions with `or`, each in parentheses; `undefined`/`false` entries are skipped.
 * @example
 * const filter = or(odata`address1_city eq ${'Redmond'}`, odata`address1_city eq ${'Seattle'}`)
 * // (address1_city eq 'Redmond') or (address1_city eq 'Seattle')
 */
export function or(...parts: (ODataExpression | undefined | false)[]): ODataExpression {
  return join('or', parts)
}

/**
 * Negates an expression: `not (...)`.
 * @example
 * const filter = not(odata`contains(name, ${'test'})`) // not (contains(name, 'test'))
 */
export function not(part: ODataExpression): ODataExpression {
  return expression(`not (${part.toString()})`)
}

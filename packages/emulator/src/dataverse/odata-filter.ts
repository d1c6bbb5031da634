import { parseDate } from './values.ts'

/** A `$filter` (or other OData expression) that does not parse; `position` is the 0-based offset of the problem. */
export class ODataParseError extends Error {
  override name = 'ODataParseError'
  constructor(
    readonly position: number,
    readonly text: string,
    detail?: string,
  ) {
    super(`Syntax error at position ${position} in '${text}'.${detail ? ` ${detail}` : ''}`)
  }
}

export type Literal =
  | { type: 'string'; value: string }
  | { type: 'number'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'null' }
  | { type: 'guid'; value: string }
  | { type: 'datetime'; value: number }

export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le'
export type StringFn = 'contains' | 'startswith' | 'endswith'

export type FilterExpr =
  | { kind: 'literal'; literal: Literal }
  | { kind: 'property'; name: string; position: number }
  | { kind: 'compare'; op: CompareOp; left: FilterExpr; right: FilterExpr }
  | { kind: 'and' | 'or'; left: FilterExpr; right: FilterExpr }
  | { kind: 'not'; operand: FilterExpr }
  | { kind: 'call'; fn: StringFn; args: FilterExpr[] }
  | { kind: 'in'; property: FilterExpr & { kind: 'property' }; values: Literal[] }
  | QueryFunctionExpr
  | LambdaExpr

/** Which parameters a Dataverse query function takes (Learn, "Web API Query Function Reference"). */
export type QueryFunctionParams = 'name' | 'value' | 'count' | 'values' | 'pair'

/** A Dataverse query function other than `In`: `fn` is its name without `Microsoft.Dynamics.CRM.`. */
export interface QueryFunctionExpr {
  kind: 'function'
  fn: string
  position: number
  property: FilterExpr & { kind: 'property' }
  /** `PropertyValue`, for the functions that take one. */
  value?: Literal
  /** `PropertyValues`, for the functions that take them. */
  values?: Literal[]
}

/**
 * `nav/any(o: body)`, `nav/all(o: body)` or `nav/any()` on a navigation property; inside `body` the range variable's
 * properties (`o/fullname`) are plain properties of the related table.
 */
export interface LambdaExpr {
  kind: 'lambda'
  op: 'any' | 'all'
  nav: string
  position: number
  body?: FilterExpr
}

const QF = (params: QueryFunctionParams, names: string[]) => names.map((n) => [n, params] as const)

/** The query functions the emulator emulates, by name, with the parameters each takes. */
export const QUERY_FUNCTIONS: ReadonlyMap<string, QueryFunctionParams> = new Map([
  ...QF('values', ['In', 'NotIn', 'ContainValues', 'DoesNotContainValues']),
  ...QF('pair', ['Between', 'NotBetween']),
  ...QF('name', ['EqualUserId', 'NotEqualUserId', 'EqualBusinessId', 'NotEqualBusinessId']),
  ...QF('value', ['On', 'OnOrAfter', 'OnOrBefore']),
  ...QF('name', ['Today', 'Yesterday', 'Tomorrow', 'Last7Days', 'Next7Days']),
  ...QF('name', ['LastWeek', 'ThisWeek', 'NextWeek', 'LastMonth', 'ThisMonth', 'NextMonth']),
  ...QF('name', ['LastYear', 'ThisYear', 'NextYear']),
  ...QF(
    'count',
    ['Hours', 'Days', 'Weeks', 'Months', 'Years'].flatMap((u) => [
      `LastX${u}`,
      `NextX${u}`,
      `OlderThanX${u}`,
    ]),
  ),
  ...QF('count', ['OlderThanXMinutes']),
])

const PARAM_NAMES: Record<QueryFunctionParams, string[]> = {
  name: ['PropertyName'],
  value: ['PropertyName', 'PropertyValue'],
  count: ['PropertyName', 'PropertyValue'],
  values: ['PropertyName', 'PropertyValues'],
  pair: ['PropertyName', 'PropertyValues'],
}

type Token =
  | { t: 'lparen' | 'rparen' | 'comma' | 'lbracket' | 'rbracket' | 'equals' | 'slash' | 'colon'; pos: number }
  | { t: 'ident'; v: string; pos: number }
  | { t: 'lit'; v: Literal; pos: number }
  | { t: 'end'; pos: number }

const GUID = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![0-9A-Za-z_-])/y
const DATETIME =
  /\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})?)?(?![0-9A-Za-z_.:-])/y
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?(?![0-9A-Za-z_.])/y
const IDENT = /[A-Za-z_][A-Za-z0-9_.]*/y

/**
 * The value of a parameter alias (`@p1`, given as the query parameter `@p1=…`), or `undefined` when the request has
 * none. OData URL conventions §5.1.1.13 (parameter aliases); Microsoft Learn passes query function parameters this
 * way ("Use Web API functions": `…LastXHours(PropertyName=@p1,PropertyValue=@p2)&@p1='modifiedon'&@p2=12`).
 */
export type AliasValues = (name: string) => string | undefined

const ALIAS = /@[A-Za-z_][A-Za-z0-9_]*/y

function tokenize(text: string, aliases?: AliasValues): Token[] {
  const out: Token[] = []
  let i = 0
  const match = (re: RegExp): string | undefined => {
    re.lastIndex = i
    const m = re.exec(text)
    return m ? m[0] : undefined
  }
  while (i < text.length) {
    const c = text[i] as string
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++
      continue
    }
    const single = {
      '(': 'lparen',
      ')': 'rparen',
      ',': 'comma',
      '[': 'lbracket',
      ']': 'rbracket',
      '=': 'equals',
      '/': 'slash',
      ':': 'colon',
    }[c] as Exclude<Token['t'], 'ident' | 'lit' | 'end'> | undefined
    if (single) {
      out.push({ t: single, pos: i })
      i++
      continue
    }
    if (c === '"') {
      // A JSON string: the documented form of a string array's items in Dataverse query functions
      // (PropertyValues=["O'Brian","OBryan"]).
      const start = i
      let end = i + 1
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1
      if (end >= text.length) throw new ODataParseError(start, text)
      let value: unknown
      try {
        value = JSON.parse(text.slice(start, end + 1))
      } catch {
        throw new ODataParseError(start, text)
      }
      out.push({ t: 'lit', v: { type: 'string', value: value as string }, pos: start })
      i = end + 1
      continue
    }
    if (c === "'") {
      const start = i
      let value = ''
      i++
      for (;;) {
        if (i >= text.length) throw new ODataParseError(start, text)
        const ch = text[i] as string
        if (ch === "'") {
          if (text[i + 1] === "'") {
            value += "'"
            i += 2
            continue
          }
          i++
          break
        }
        value += ch
        i++
      }
      out.push({ t: 'lit', v: { type: 'string', value }, pos: start })
      continue
    }
    const alias = c === '@' ? match(ALIAS) : undefined
    if (alias) {
      const value = aliases?.(alias)
      // An alias without a value, or whose value is not made of values (literals, brackets, commas; no further
      // alias), is refused where it stands.
      // Stryker disable next-line ConditionalExpression: without the check, tokenize(undefined) throws and the catch below refuses the alias at the same position
      if (value === undefined) throw new ODataParseError(i, text)
      let inner: Token[]
      try {
        inner = tokenize(value)
      } catch {
        throw new ODataParseError(i, text)
      }
      if (inner.length === 1) throw new ODataParseError(i, text) // an empty value
      for (const tok of inner) if (tok.t !== 'end') out.push({ ...tok, pos: i })
      i += alias.length
      continue
    }
    const guid = match(GUID)
    if (guid) {
      out.push({ t: 'lit', v: { type: 'guid', value: guid.toLowerCase() }, pos: i })
      i += guid.length
      continue
    }
    const date = match(DATETIME)
    if (date) {
      const value = parseDate(date)
      if (value === undefined) throw new ODataParseError(i, text)
      out.push({ t: 'lit', v: { type: 'datetime', value }, pos: i })
      i += date.length
      continue
    }
    const num = match(NUMBER)
    if (num) {
      const value = Number(num.replace(/[mMdDfFlL]$/, ''))
      if (!Number.isFinite(value)) throw new ODataParseError(i, text)
      // An integer literal must fit Edm.Int64 (OData ABNF int64Value: at most 19 digits, −2^63 … 2^63−1).
      if (/^-?\d+[lL]?$/.test(num) && !fitsInt64(num.replace(/[lL]$/, ''))) throw new ODataParseError(i, text)
      out.push({ t: 'lit', v: { type: 'number', value }, pos: i })
      i += num.length
      continue
    }
    const id = match(IDENT)
    if (id) {
      const lit: Literal | undefined =
        id === 'null'
          ? { type: 'null' }
          : id === 'true' || id === 'false'
            ? { type: 'boolean', value: id === 'true' }
            : undefined
      out.push(lit ? { t: 'lit', v: lit, pos: i } : { t: 'ident', v: id, pos: i })
      i += id.length
      continue
    }
    throw new ODataParseError(i, text)
  }
  out.push({ t: 'end', pos: text.length })
  return out
}

const INT64_MAX = 9_223_372_036_854_775_807n
const fitsInt64 = (digits: string) => {
  const n = BigInt(digits)
  return n <= INT64_MAX && n >= -INT64_MAX - 1n
}

const COMPARE = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le'])
const FUNCTIONS = new Set(['contains', 'startswith', 'endswith'])
const MAX_DEPTH = 100
const CRM = 'Microsoft.Dynamics.CRM.'
const KNOWN = [...QUERY_FUNCTIONS.keys()].join(', ')

/**
 * A chain of `and` (or `or`) terms as a balanced tree, in order: thousands of terms nest about 15 deep instead of
 * thousands, so code that walks the tree recursively stays far from the stack limit.
 */
function balanced(kind: 'and' | 'or', terms: FilterExpr[], from = 0, to = terms.length): FilterExpr {
  if (to - from === 1) return terms[from] as FilterExpr
  const middle = (from + to) >>> 1
  return { kind, left: balanced(kind, terms, from, middle), right: balanced(kind, terms, middle, to) }
}

/**
 * Parse an OData `$filter` expression: comparisons, `and` / `or` / `not`, parentheses, `contains` / `startswith` /
 * `endswith`, the query functions of {@link QUERY_FUNCTIONS} (`Microsoft.Dynamics.CRM.In(PropertyName='x',
 * PropertyValues=['a','b'])`), `any` / `all` on navigation properties, literals (quoted strings with '' escaping,
 * numbers, GUIDs, dates, true / false / null), and parameter aliases standing for values.
 * @throws {ODataParseError} for any malformed input, and nothing else.
 */
export function parseFilter(text: string, aliases?: AliasValues): FilterExpr {
  const tokens = tokenize(text, aliases)
  let p = 0
  let depth = 0
  // range variables of the lambdas being parsed, innermost last
  const scopes: string[] = []
  const peek = () => tokens[p] as Token
  const fail = (tok: Token = peek()): never => {
    throw new ODataParseError(tok.pos, text)
  }
  const expect = (t: Token['t']): Token => {
    const tok = peek()
    if (tok.t !== t) fail(tok)
    p++
    return tok
  }
  const isWord = (w: string) => {
    const tok = peek()
    return tok.t === 'ident' && tok.v === w
  }

  const parseOr = (): FilterExpr => {
    const terms = [parseAnd()]
    while (isWord('or')) {
      p++
      terms.push(parseAnd())
    }
    return balanced('or', terms)
  }
  const parseAnd = (): FilterExpr => {
    const terms = [parseUnary()]
    while (isWord('and')) {
      p++
      terms.push(parseUnary())
    }
    return balanced('and', terms)
  }
  const parseUnary = (): FilterExpr => {
    if (++depth > MAX_DEPTH) fail()
    try {
      if (isWord('not')) {
        p++
        return { kind: 'not', operand: parseUnary() }
      }
      return parseComparison()
    } finally {
      depth--
    }
  }
  const parseComparison = (): FilterExpr => {
    const left = parsePrimary()
    const tok = peek()
    if (tok.t === 'ident' && COMPARE.has(tok.v)) {
      p++
      const right = parsePrimary()
      return { kind: 'compare', op: tok.v as CompareOp, left, right }
    }
    return left
  }
  const parseLiteral = (): Literal => {
    const tok = peek()
    if (tok.t !== 'lit') return fail(tok)
    p++
    return tok.v
  }
  const parsePrimary = (): FilterExpr => {
    const tok = peek()
    if (tok.t === 'lparen') {
      p++
      const inner = parseOr()
      expect('rparen')
      return inner
    }
    if (tok.t === 'lit') {
      p++
      return { kind: 'literal', literal: tok.v }
    }
    if (tok.t !== 'ident') return fail(tok)
    p++
    const next = peek()
    if (next.t === 'lparen') {
      if (FUNCTIONS.has(tok.v)) {
        p++
        const args = [parseOr()]
        expect('comma')
        args.push(parseOr())
        expect('rparen')
        return { kind: 'call', fn: tok.v as StringFn, args }
      }
      const name = tok.v.startsWith(CRM) ? tok.v.slice(CRM.length) : undefined
      const params = name === undefined ? undefined : QUERY_FUNCTIONS.get(name)
      if (name !== undefined && params) return parseQueryFunction(name, params, tok.pos)
      throw new ODataParseError(
        tok.pos,
        text,
        name !== undefined
          ? `The emulator does not emulate the query function ${tok.v.slice(0, 80)}; of Dataverse's query functions it knows ${KNOWN}.`
          : `Unknown function '${tok.v.slice(0, 80)}': use contains, startswith, endswith or a Microsoft.Dynamics.CRM query function.`,
      )
    }
    if (tok.v.includes('.') || COMPARE.has(tok.v) || tok.v === 'and' || tok.v === 'or' || tok.v === 'not')
      fail(tok)
    const variable = scopes[scopes.length - 1]
    if (variable === undefined) {
      if (next.t === 'slash') return parseLambda(tok.v, tok.pos)
      return { kind: 'property', name: tok.v, position: tok.pos }
    }
    // inside a lambda: `o/property` or `o/navigation/any(…)`, with `o` the innermost range variable
    if (tok.v !== variable || next.t !== 'slash') {
      throw new ODataParseError(
        tok.pos,
        text,
        scopes.includes(tok.v)
          ? `The emulator does not emulate a lambda body that reads the outer range variable '${tok.v}'.`
          : `Inside the lambda, name properties through its range variable: '${variable}/${tok.v.slice(0, 80)}'.`,
      )
    }
    p++
    const member = expect('ident') as Token & { t: 'ident' }
    if (peek().t === 'slash') return parseLambda(member.v, member.pos)
    if (member.v.includes('.')) fail(member)
    return { kind: 'property', name: member.v, position: member.pos }
  }
  const parseLambda = (nav: string, pos: number): FilterExpr => {
    expect('slash')
    const op = peek()
    if (op.t !== 'ident' || (op.v !== 'any' && op.v !== 'all') || tokens[p + 1]?.t !== 'lparen') {
      throw new ODataParseError(
        op.pos,
        text,
        `After '${nav.slice(0, 80)}/' the emulator knows any(…) and all(…) on a collection-valued navigation property; it does not emulate paths to a related row's properties.`,
      )
    }
    p += 2
    if (peek().t === 'rparen' && op.v === 'any') {
      p++
      return { kind: 'lambda', op: 'any', nav, position: pos }
    }
    const variable = expect('ident') as Token & { t: 'ident' }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable.v) || scopes.includes(variable.v)) fail(variable)
    expect('colon')
    scopes.push(variable.v)
    const body = parseOr()
    scopes.pop()
    expect('rparen')
    return { kind: 'lambda', op: op.v, nav, position: pos, body }
  }
  const parseQueryFunction = (name: string, params: QueryFunctionParams, pos: number): FilterExpr => {
    const allowed = PARAM_NAMES[params]
    const usage = () =>
      `${CRM}${name} takes ${allowed.join(' and ')}${params === 'pair' ? ' (two values)' : ''}${params === 'count' ? ' (a whole number)' : ''}.`
    expect('lparen')
    let property: (FilterExpr & { kind: 'property' }) | undefined
    let value: Literal | undefined
    let values: Literal[] | undefined
    const seen = new Set<string>()
    while (peek().t !== 'rparen') {
      if (seen.size > 0) expect('comma')
      const param = expect('ident') as Token & { t: 'ident' }
      if (!allowed.includes(param.v) || seen.has(param.v)) throw new ODataParseError(param.pos, text, usage())
      seen.add(param.v)
      expect('equals')
      if (param.v === 'PropertyName') {
        const lit = parseLiteral()
        if (lit.type !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(lit.value)) fail(param)
        property = { kind: 'property', name: (lit as { value: string }).value, position: param.pos }
      } else if (param.v === 'PropertyValues') {
        expect('lbracket')
        values = [parseLiteral()]
        while (peek().t === 'comma') {
          p++
          values.push(parseLiteral())
        }
        expect('rbracket')
        if (params === 'pair' && values.length !== 2) throw new ODataParseError(param.pos, text, usage())
      } else {
        const at = peek()
        value = parseLiteral()
        if (
          params === 'count' &&
          (value.type !== 'number' || !Number.isSafeInteger(value.value) || value.value < 0)
        )
          throw new ODataParseError(at.pos, text, usage())
      }
    }
    expect('rparen')
    if (!property || seen.size !== allowed.length) throw new ODataParseError(pos, text, usage())
    if (name === 'In') return { kind: 'in', property, values: values as Literal[] }
    return {
      kind: 'function',
      fn: name,
      position: pos,
      property,
      ...(value ? { value } : {}),
      ...(values ? { values } : {}),
    }
  }

  if (text.trim() === '') throw new ODataParseError(0, text)
  const expr = parseOr()
  if (peek().t !== 'end') fail()
  return expr
}

/** Quote a string as an OData literal ('' escaping). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

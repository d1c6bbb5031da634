import { type AliasValues, type Literal, ODataParseError, type Token, tokenize } from './odata-tokens.ts'

export type { AliasValues, Literal } from './odata-tokens.ts'
export { ODataParseError } from './odata-tokens.ts'

export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le'
export type StringFn = 'contains' | 'startswith' | 'endswith'

export type FilterExpr =
  | { kind: 'literal'; literal: Literal }
  | { kind: 'property'; name: string; position: number }
  | PathExpr
  | { kind: 'compare'; op: CompareOp; left: FilterExpr; right: FilterExpr }
  | { kind: 'and' | 'or'; left: FilterExpr; right: FilterExpr }
  | { kind: 'not'; operand: FilterExpr }
  | { kind: 'call'; fn: StringFn; args: FilterExpr[] }
  | { kind: 'in'; property: FilterExpr & { kind: 'property' }; values: Literal[] }
  | QueryFunctionExpr
  | LambdaExpr

/**
 * `primarycontactid/fullname`, `primarycontactid/createdby/fullname`: a column of the row reached through one or more
 * single-valued navigation properties (Learn, "Filter rows" § filter using lookup column property values). The parser
 * cannot tell single- from collection-valued navigations: the compiler refuses the latter.
 */
export interface PathExpr {
  kind: 'path'
  navigations: string[]
  name: string
  position: number
}

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

type Ident = Token & { t: 'ident' }

const COMPARE = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le'])
const reserved = (name: string) =>
  name.includes('.') || COMPARE.has(name) || name === 'and' || name === 'or' || name === 'not'
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

export interface ParseFilterOptions {
  /** Read `nav/property` paths ({@link PathExpr}); off where the filter is not on rows (table definitions). */
  paths?: boolean
}

/**
 * Parse an OData `$filter` expression: comparisons, `and` / `or` / `not`, parentheses, `contains` / `startswith` /
 * `endswith`, the query functions of {@link QUERY_FUNCTIONS} (`Microsoft.Dynamics.CRM.In(PropertyName='x',
 * PropertyValues=['a','b'])`), `any` / `all` on navigation properties, literals (quoted strings with '' escaping,
 * numbers, GUIDs, dates, true / false / null), parameter aliases standing for values, and with `options.paths` the
 * paths through navigation properties of {@link PathExpr}.
 * @throws {ODataParseError} for any malformed input, and nothing else.
 */
export function parseFilter(
  text: string,
  aliases?: AliasValues,
  options: ParseFilterOptions = {},
): FilterExpr {
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
    if (reserved(tok.v)) fail(tok)
    const variable = scopes[scopes.length - 1]
    if (variable === undefined) return parseMember(tok)
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
    return parseMember(expect('ident') as Ident)
  }
  // `name`, `nav/any(…)`, or with options.paths `nav/…/name`; a lambda after a path is refused as Learn documents
  const parseMember = (first: Ident): FilterExpr => {
    const segments = [first]
    while (peek().t === 'slash') {
      const op = tokens[p + 1] as Token
      const lambda = op.t === 'ident' && (op.v === 'any' || op.v === 'all') && tokens[p + 2]?.t === 'lparen'
      const nav = segments[segments.length - 1] as Ident
      if (lambda && segments.length > 1) {
        throw new ODataParseError(
          nav.pos,
          text,
          `Dataverse does not filter on a collection-valued navigation property reached through a lookup ('${nav.v.slice(0, 80)}' after '${segments[segments.length - 2]?.v.slice(0, 80)}/').`,
        )
      }
      if (lambda || !options.paths) return parseLambda(nav.v, nav.pos)
      p++
      segments.push(expect('ident') as Ident)
    }
    for (const s of segments) if (reserved(s.v)) fail(s)
    const last = segments.pop() as Ident
    if (segments.length === 0) return { kind: 'property', name: last.v, position: last.pos }
    return { kind: 'path', navigations: segments.map((s) => s.v), name: last.v, position: first.pos }
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

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

export type Token =
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

export function tokenize(text: string, aliases?: AliasValues): Token[] {
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

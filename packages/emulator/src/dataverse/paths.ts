import { Fault } from './errors.ts'
import { GUID_RE } from './values.ts'

// URL paths of the Web API: segments, keys and key literals.

export interface Segment {
  name: string
  /** Text inside the parentheses, if any. */
  key?: string
}

/** Split a URL path on '/' outside parentheses and quotes, decoding each segment. */
export function splitPath(path: string): string[] {
  const raw: string[] = []
  let depth = 0
  let quoted = false
  let start = 0
  for (let i = 0; i < path.length; i++) {
    const c = path[i]
    if (c === "'") quoted = !quoted
    else if (!quoted && c === '(') depth++
    else if (!quoted && c === ')') depth--
    else if (!quoted && depth === 0 && c === '/') {
      raw.push(path.slice(start, i))
      start = i + 1
    }
  }
  raw.push(path.slice(start))
  return raw.map((s) => {
    try {
      return decodeURIComponent(s)
    } catch {
      throw Fault.syntax(`The URL segment '${s}' is not correctly percent-encoded.`)
    }
  })
}

export function parseSegment(text: string): Segment {
  const m = /^([A-Za-z_$][A-Za-z0-9_.$]*)(?:\((.*)\))?$/s.exec(text)
  if (!m) throw Fault.segmentNotFound(text)
  return m[2] === undefined ? { name: m[1] as string } : { name: m[1] as string, key: m[2] }
}

/** Parse a key literal from a URL: 'quoted' (with '' escaping), a GUID, a number, true/false/null. */
export function parseKeyLiteral(text: string): unknown {
  const t = text.trim()
  if (/^'.*'$/s.test(t)) {
    const inner = t.slice(1, -1)
    if (/(^|[^'])'(?!')/.test(inner.replaceAll("''", '')))
      throw Fault.syntax('Bad Request - Error in query syntax.')
    return inner.replaceAll("''", "'")
  }
  if (GUID_RE.test(t)) return t.toLowerCase()
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t)
  if (t === 'true' || t === 'false') return t === 'true'
  if (t === 'null') return null
  throw Fault.syntax('Bad Request - Error in query syntax.')
}

export function splitKey(text: string): string[] {
  const out: string[] = []
  let quoted = false
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === "'") quoted = !quoted
    else if (!quoted && c === ',') {
      out.push(text.slice(start, i))
      start = i + 1
    }
  }
  out.push(text.slice(start))
  return out
}

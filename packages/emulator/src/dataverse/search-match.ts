// Term matching for Dataverse search (search.ts). Learn, "Dataverse Search query" § Simple Search syntax: `+` AND,
// `|` OR, `-` NOT, a trailing `*` wildcard, quoted phrases, `\` escapes an operator. The emulator's reading of it,
// simpler than Azure AI Search's analyzers: text splits into words (letters and digits), a term matches a word equal
// to it ignoring case (or starting with it, with `*`), a phrase matches consecutive words; `+term` must match,
// `-term` must not, the other terms match by `searchmode` (any: one of them, all: every one); `|` and parentheses
// only separate terms.

export interface Clause {
  words: string[]
  prefix: boolean
  op: 'must' | 'not' | 'should'
}

export interface Word {
  text: string
  start: number
  end: number
}

const WORD_RE = /[\p{L}\p{N}]+/gu

export function wordsOf(text: string): Word[] {
  const out: Word[] = []
  for (const m of text.matchAll(WORD_RE)) {
    out.push({ text: m[0].toLowerCase(), start: m.index, end: m.index + m[0].length })
  }
  return out
}

/** The clauses of a simple-syntax search text; empty when it holds no word (`*` alone matches everything). */
export function parseSearch(text: string): Clause[] {
  const clauses: Clause[] = []
  const re = /(\\.)|([+-]?)"([^"]*)"?|([+-]?)((?:\\.|[^\s"|()\\])+)/gu
  for (const m of text.matchAll(re)) {
    if (m[1] !== undefined) {
      addClause(clauses, m[1].slice(1), '', false)
      continue
    }
    if (m[3] !== undefined) {
      addClause(clauses, m[3], m[2] ?? '', false)
      continue
    }
    const raw = (m[5] ?? '').replace(/\\(.)/gu, '$1')
    addClause(clauses, raw, m[4] ?? '', raw.endsWith('*') && !(m[5] ?? '').endsWith('\\*'))
  }
  return clauses
}

function addClause(clauses: Clause[], raw: string, sign: string, prefix: boolean): void {
  const words = wordsOf(raw).map((w) => w.text)
  if (words.length === 0) return
  clauses.push({ words, prefix, op: sign === '+' ? 'must' : sign === '-' ? 'not' : 'should' })
}

/** Where a clause matches in a text's words: the matched word spans (empty: no match). */
export function clauseHits(clause: Clause, words: Word[]): Word[] {
  const hits: Word[] = []
  const n = clause.words.length
  for (let i = 0; i + n <= words.length; i++) {
    let ok = true
    for (let j = 0; j < n; j++) {
      const w = (words[i + j] as Word).text
      const t = clause.words[j] as string
      const last = j === n - 1
      if (!(w === t || (last && clause.prefix && w.startsWith(t)))) {
        ok = false
        break
      }
    }
    if (ok) for (let j = 0; j < n; j++) hits.push(words[i + j] as Word)
  }
  return hits
}

/** The text with each hit wrapped in `{crmhit}…{/crmhit}` (Learn's highlight markers). */
export function highlight(text: string, hits: Word[]): string {
  const spans = [...new Map(hits.map((h) => [h.start, h])).values()].sort((a, b) => a.start - b.start)
  let out = ''
  let at = 0
  for (const s of spans) {
    if (s.start < at) continue
    out += `${text.slice(at, s.start)}{crmhit}${text.slice(s.start, s.end)}{/crmhit}`
    at = s.end
  }
  return out + text.slice(at)
}

export interface FieldText {
  column: string
  text: string
  weight: number
}

export interface Match {
  score: number
  highlights: Record<string, string[]>
}

/**
 * Whether a row's searched fields match the clauses, with a score (each hit counts its field's weight, the primary
 * name weighs 2) and the highlighted fields. Undefined when they do not match.
 */
export function matchFields(clauses: Clause[], fields: FieldText[], all: boolean): Match | undefined {
  const split = fields.map((f) => ({ ...f, words: wordsOf(f.text) }))
  let score = 0
  let anyShould = false
  let hasShould = false
  const hitsBy = new Map<string, Word[]>()
  for (const c of clauses) {
    let matched = false
    for (const f of split) {
      const hits = clauseHits(c, f.words)
      if (hits.length === 0) continue
      matched = true
      if (c.op === 'not') break
      score += f.weight * hits.length
      const list = hitsBy.get(f.column)
      if (list) list.push(...hits)
      else hitsBy.set(f.column, [...hits])
    }
    if (c.op === 'not' && matched) return undefined
    if (c.op === 'must' && !matched) return undefined
    if (c.op === 'should') {
      hasShould = true
      if (matched) anyShould = true
      else if (all) return undefined
    }
  }
  const required = clauses.some((c) => c.op === 'must')
  if (hasShould && !anyShould && !required) return undefined
  const highlights: Record<string, string[]> = {}
  for (const f of split) {
    const hits = hitsBy.get(f.column)
    if (hits?.length) highlights[f.column] = [highlight(f.text, hits)]
  }
  return { score: Math.round(score * 1e4) / 1e4, highlights }
}

import { splitTop } from './query.ts'

// Learn, "Dataverse search (legacy)": /api/search/v1.0/{query,suggest,autocomplete} take the same search with
// other spellings (entities, facets and orderby as JSON arrays, returntotalrecordcount, searchmode, usefuzzy) and
// answer plain JSON: { value, facets, totalrecordcount } for query, { value: [{ text, document }] } for suggest and
// { value } for autocomplete. dynamics-web-api sends this form unless its searchApi version is set to 2.0.

/**
 * A legacy filter names its table before each condition, the conditions separated by commas:
 * `account:modifiedon ge 2020-04-27T00:00:00, contact:(statecode eq 0)`. Undefined when the text has no table
 * prefix (then it applies to every table, as in v2.0).
 */
export function legacyFilters(text: string | undefined): Map<string, string> | undefined {
  if (text === undefined || !/^\s*[A-Za-z_][A-Za-z0-9_]*\s*:/.test(text)) return undefined
  const out = new Map<string, string>()
  for (const part of splitTop(text)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:(.*)$/s.exec(part)
    if (!m) continue
    const table = (m[1] as string).toLowerCase()
    const condition = (m[2] as string).trim()
    const before = out.get(table)
    out.set(table, before ? `(${before}) and (${condition})` : condition)
  }
  return out
}

/** A facet bucket in the legacy spelling (`Type`, `Value`, `Count`), as Learn's legacy example shows. */
export function legacyFacet(value: unknown, count: number): Record<string, unknown> {
  return { Type: 'Value', Value: value, Count: count }
}

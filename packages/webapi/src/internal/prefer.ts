import { DataverseError } from '../errors.ts'

// RFC 7240: `Prefer` is a comma-separated list of preferences, `name[=value]`, where a value may be a quoted string
// holding commas (`odata.include-annotations="A,B"`). Dataverse reads several from one request (Microsoft Learn:
// Compose HTTP requests and handle errors, "Prefer headers"), so a caller's own Prefer adds to the client's.

/** The preferences of a `Prefer` value, split at the commas outside quoted strings. */
function preferences(value: string): string[] {
  const out: string[] = []
  let start = 0
  let quoted = false
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]
    if (ch === '"') quoted = !quoted
    else if (ch === ',' && !quoted) {
      out.push(value.slice(start, i))
      start = i + 1
    }
  }
  out.push(value.slice(start))
  return out.map((p) => p.trim()).filter((p) => p !== '')
}

function nameOf(preference: string): string {
  const eq = preference.indexOf('=')
  return (eq < 0 ? preference : preference.slice(0, eq)).trim().toLowerCase()
}

/** The annotation patterns of `odata.include-annotations="…"` (unquoted, trimmed). */
function annotations(preference: string): string[] {
  const value = preference.slice(preference.indexOf('=') + 1).trim()
  return value
    .replace(/^"|"$/g, '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '')
}

/**
 * The client's own preferences for a request (`own`, from typed options such as `returnRepresentation` or
 * `formattedValues`) together with those a caller adds through a `Prefer` header. Annotation lists are joined (`*`
 * covers every other); a preference the caller repeats with the same value is sent once; one that contradicts the
 * client's (`return=minimal` on a call asked to return the row) is refused, as the request could not give both.
 */
export function mergePrefer(own: string | undefined, given: string): string {
  if (!own) return given
  const merged = preferences(own)
  for (const preference of preferences(given)) {
    const name = nameOf(preference)
    const index = merged.findIndex((p) => nameOf(p) === name)
    const existing = index < 0 ? undefined : (merged[index] as string)
    if (existing === undefined) {
      merged.push(preference)
    } else if (name === 'odata.include-annotations') {
      const all = [...new Set([...annotations(existing), ...annotations(preference)])]
      merged[index] = `odata.include-annotations="${all.includes('*') ? '*' : all.join(',')}"`
    } else if (existing.replace(/\s+/g, '').toLowerCase() !== preference.replace(/\s+/g, '').toLowerCase()) {
      throw new DataverseError(
        'INVALID_ARGUMENT',
        `The Prefer header's "${preference.slice(0, 80)}" contradicts "${existing}", which the call's options ask for: ` +
          'leave it out of headers and use the option instead.',
      )
    }
  }
  return merged.join(',')
}

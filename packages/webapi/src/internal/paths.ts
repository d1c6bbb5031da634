import { DataverseError } from '../errors.ts'
import type { RecordKey } from '../filter.ts'
import { formatLiteral, isGuid } from '../filter.ts'

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/
const QUALIFIED_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/

export function checkName(name: string, what: string): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new DataverseError(
      'INVALID_ARGUMENT',
      `${what} ${JSON.stringify(String(name)).slice(0, 80)} is not a valid name; use the logical/entity set name (letters, digits, _).`,
    )
  }
  return name
}

export function checkQualifiedName(name: string, what: string): string {
  if (typeof name !== 'string' || !QUALIFIED_RE.test(name)) {
    throw new DataverseError(
      'INVALID_ARGUMENT',
      `${what} ${JSON.stringify(String(name)).slice(0, 80)} is not a valid name.`,
    )
  }
  return name
}

/** `guid` or `name='v',other=1`; throws on anything that could carry other syntax. */
export function formatKey(key: RecordKey): string {
  if (typeof key === 'string') {
    if (isGuid(key)) return key
    if (/^\$[0-9]+$/.test(key)) return key
    throw new DataverseError(
      'INVALID_ARGUMENT',
      'A record key string must be a GUID; pass an alternate key as an object, e.g. { accountnumber: "A-1" }.',
    )
  }
  if (key === null || typeof key !== 'object') {
    throw new DataverseError(
      'INVALID_ARGUMENT',
      'A record key must be a GUID string or an alternate-key object.',
    )
  }
  const entries = Object.entries(key)
  if (entries.length === 0)
    throw new DataverseError('INVALID_ARGUMENT', 'An alternate key needs at least one property.')
  return entries
    .map(([name, value]) => `${checkName(name, 'Key property')}=${encodeKeyValue(formatLiteral(value))}`)
    .join(',')
}

/**
 * `encodeURIComponent` for a query parameter's value, refusing text with an unpaired surrogate as a typed argument
 * error (the plain `URIError` would tell the caller nothing about which value was broken).
 */
export function encodeQueryValue(value: string, what: string): string {
  try {
    return encodeURIComponent(value)
  } catch {
    throw new DataverseError(
      'INVALID_ARGUMENT',
      `${what} contains an unpaired surrogate (not valid Unicode text); fix the value before sending it.`,
    )
  }
}

// Inside a path segment, percent-encode what URL parsers would treat as structure, and every character outside
// printable ASCII as UTF-8 (an HTTP request line is ASCII: Node's HTTP client refuses or mangles anything else, while
// fetch would encode it the same way); the quotes stay.
function encodeKeyValue(literal: string): string {
  // Stryker disable next-line StringLiteral: what replaces a valid pair does not matter, only that no surrogate is left
  if (/[\uD800-\uDFFF]/.test(literal.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) {
    throw new DataverseError(
      'INVALID_ARGUMENT',
      'An alternate key value contains an unpaired surrogate (not valid Unicode text); fix the value before sending it.',
    )
  }
  return literal.replace(/[%/?#&\\\s+]|[^\x21-\x7e]/gu, (c) => encodeURIComponent(c))
}

/** `accounts(<key>)`, or `$1` when the key is a batch Content-ID reference. */
export function recordPath(entitySet: string, key: RecordKey): string {
  if (typeof key === 'string' && /^\$[0-9]+$/.test(key)) return key
  return `${checkName(entitySet, 'Entity set')}(${formatKey(key)})`
}

/** `accounts(<key>)/name` (or `$1/name`): one column of a record. */
export function propertyPath(entitySet: string, key: RecordKey, property: string): string {
  return `${recordPath(entitySet, key)}/${checkName(property, 'Property')}`
}

/**
 * The row id an `OData-EntityId` (or `Location`) header names: `…/accounts(<guid>)`. A row named by its alternate key
 * (`…/accounts(accountnumber='A-1')`, as Dataverse answers an upsert by key) has no id in it: undefined.
 */
export function idFromEntityId(entityId: string | undefined): string | undefined {
  if (!entityId) return undefined
  const match = /\(([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\)\s*$/i.exec(entityId)
  return match ? match[1] : undefined
}

import { Fault } from './errors.ts'
import type { ColumnDef, TableDef } from './metadata.ts'

export const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

/** Parse an ISO 8601 date or date-time (Edm.Date / Edm.DateTimeOffset); undefined if malformed. */
export function parseDate(s: string): number | undefined {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(T(\d{2}):(\d{2})(:(\d{2})(\.\d{1,7})?)?(Z|[+-](\d{2}):(\d{2}))?)?$/.exec(s)
  if (!m) return undefined
  // Date.parse rolls 2023-02-30 over to March 2nd; Dataverse refuses a date that does not exist, so check the parts.
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined
  if (Number(m[5] ?? 0) > 23 || Number(m[6] ?? 0) > 59 || Number(m[8] ?? 0) > 59) return undefined
  if (Number(m[11] ?? 0) > 14 || Number(m[12] ?? 0) > 59) return undefined
  const iso = s.length === 10 ? `${s}T00:00:00Z` : /(Z|[+-]\d{2}:\d{2})$/.test(s) ? s : `${s}Z`
  const t = Date.parse(iso)
  return Number.isNaN(t) ? undefined : t
}

/** Format a stored date (seconds since the epoch) the way Dataverse does: UTC, seconds precision, `Z`. */
export function formatDate(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}Z`
}

function badValue(def: TableDef, col: ColumnDef, value: unknown, expected: string) {
  return Fault.badPayload(
    def.logicalName,
    `Cannot convert the literal '${literal(value)}' to the expected type '${expected}' for property '${col.name}'.`,
  )
}

/** A short quotation of a body value: never the whole of a huge string or a deeply nested value. */
function literal(value: unknown): string {
  if (Array.isArray(value)) return '[...]'
  if (typeof value === 'object' && value !== null) return '{...}'
  const text = String(value)
  return text.length > 100 ? `${text.slice(0, 100)}...` : text
}

// The states of the standard tables the emulator serves: 0 Active, 1 Inactive (Dataverse's OptionSet validation
// refuses any other value with a validation error, 0x80044331).
const STATE_CODES = [0, 1]

/** Convert a JSON body value to the stored representation of a column, or throw a payload fault. */
export function coerce(def: TableDef, col: ColumnDef, value: unknown): unknown {
  if (value === null) return null
  switch (col.type) {
    case 'uniqueidentifier':
    case 'lookup':
      if (typeof value !== 'string' || !GUID_RE.test(value)) throw badValue(def, col, value, 'Edm.Guid')
      return value.toLowerCase()
    case 'string':
    case 'memo':
      if (typeof value !== 'string') throw badValue(def, col, value, 'Edm.String')
      if (value.length > col.maxLength) {
        throw Fault.validation(
          `A validation error occurred. The length of the '${col.name}' attribute of the '${def.logicalName}' entity exceeded the maximum allowed length of '${col.maxLength}'.`,
        )
      }
      return value
    case 'integer':
    case 'picklist':
    case 'bigint':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw badValue(def, col, value, 'Edm.Int32')
      if (col.type !== 'bigint' && (value > 2_147_483_647 || value < -2_147_483_648))
        throw badValue(def, col, value, 'Edm.Int32')
      if (col.type === 'bigint' && !Number.isSafeInteger(value)) throw badValue(def, col, value, 'Edm.Int64')
      if (col.name === 'statecode') {
        // the table's state options (the ones its definition serves)
        const accepted = col.choice?.options.map((o) => o.value) ?? STATE_CODES
        if (!accepted.includes(value))
          throw Fault.validation(
            `A validation error occurred. The value ${value} of 'statecode' on record of type '${def.logicalName}' is outside the valid range. Accepted Values: ${accepted.join(',')}`,
          )
      }
      return value
    case 'multiselectpicklist': {
      // a multi-select choice travels as the option values separated by commas: "1,3" (Web API: choices columns)
      if (typeof value !== 'string' || !/^\s*-?\d+(\s*,\s*-?\d+)*\s*$/.test(value))
        throw badValue(def, col, value, 'Edm.String')
      const values = [...new Set(value.split(',').map((v) => Number(v.trim())))]
      const accepted = col.choice?.options.map((o) => o.value)
      const wrong = accepted ? values.find((v) => !accepted.includes(v)) : undefined
      if (wrong !== undefined)
        throw Fault.validation(
          `A validation error occurred. The value ${wrong} of '${col.name}' on record of type '${def.logicalName}' is outside the valid range. Accepted Values: ${accepted?.join(',')}`,
        )
      return values.sort((a, b) => a - b).join(',')
    }
    case 'decimal':
    case 'money':
    case 'double':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw badValue(def, col, value, 'Edm.Decimal')
      return value
    case 'boolean':
      if (typeof value !== 'boolean') throw badValue(def, col, value, 'Edm.Boolean')
      return value
    case 'datetime': {
      const t = typeof value === 'string' ? parseDate(value) : undefined
      if (t === undefined) throw badValue(def, col, value, 'Edm.DateTimeOffset')
      return Math.floor(t / 1000)
    }
  }
}

/** The JSON form of a stored value. */
export function output(col: ColumnDef, value: unknown): unknown {
  if (value === null || value === undefined) return null
  if (col.type === 'datetime') return formatDate(value as number)
  return value
}

/** The JSON property name of a column (`_x_value` for lookups). */
export function propertyName(col: ColumnDef): string {
  return col.type === 'lookup' ? `_${col.name}_value` : col.name
}

/** The CSDL type name of a column. */
export function edmType(col: ColumnDef): string {
  switch (col.type) {
    case 'uniqueidentifier':
    case 'lookup':
    case 'file':
      return 'Edm.Guid'
    case 'string':
    case 'memo':
    case 'multiselectpicklist':
      return 'Edm.String'
    case 'integer':
    case 'picklist':
      return 'Edm.Int32'
    case 'bigint':
      return 'Edm.Int64'
    case 'decimal':
    case 'money':
      return 'Edm.Decimal'
    case 'double':
      return 'Edm.Double'
    case 'boolean':
      return 'Edm.Boolean'
    case 'datetime':
      return 'Edm.DateTimeOffset'
  }
}

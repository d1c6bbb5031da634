import { Fault } from './errors.ts'
import type { ColumnDef, TableDef } from './metadata.ts'

export const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

/** Parse an ISO 8601 date or date-time (Edm.Date / Edm.DateTimeOffset); undefined if malformed. */
export function parseDate(s: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(s)) return undefined
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
    `Cannot convert the literal '${typeof value === 'string' ? value : JSON.stringify(value)}' to the expected type '${expected}' for property '${col.name}'.`,
  )
}

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
      return value
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
      return 'Edm.Guid'
    case 'string':
    case 'memo':
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

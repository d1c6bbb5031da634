import type { ColumnDef } from './metadata.ts'

// `OData.Community.Display.V1.FormattedValue` strings for non-lookup columns, following "Query data using the
// Web API" § Formatted values (learn.microsoft.com/power-apps/developer/data-platform/webapi/query/overview):
// money `$5,000,000.00`, whole numbers `9,500`, dates `4/7/2023 2:59 PM`, state/status labels `Active`.
// The emulator formats as an en-US user in UTC (per-user settings are not modelled yet).

const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' })
const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })
const decimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
const dateTime = new Intl.DateTimeFormat('en-US', {
  timeZone: 'UTC',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: '2-digit',
})

/** The formatted value of a non-null, non-lookup column value, or undefined when Dataverse sends none. */
export function formatValue(
  col: Pick<ColumnDef, 'name' | 'type' | 'choice'>,
  v: unknown,
): string | undefined {
  switch (col.type) {
    case 'boolean': {
      // the label of the column's true/false option (the same options the table definitions serve)
      const label = col.choice?.options.find((o) => o.value === (v ? 1 : 0))?.label
      return label ?? (v ? 'Yes' : 'No')
    }
    case 'money':
      return money.format(Number(v))
    case 'integer':
    case 'bigint':
      return whole.format(Number(v))
    case 'decimal':
    case 'double':
      return decimal.format(Number(v))
    case 'datetime': {
      const d = new Date(Number(v) * 1000)
      return Number.isNaN(d.getTime())
        ? undefined
        : dateTime.format(d).replace(',', '').replace('\u202f', ' ')
    }
    case 'picklist':
      return col.choice?.options.find((o) => o.value === Number(v))?.label
    case 'multiselectpicklist': {
      const labels = String(v)
        .split(',')
        .map((x) => col.choice?.options.find((o) => o.value === Number(x))?.label)
      return labels.every((l) => l !== undefined) ? labels.join('; ') : undefined
    }
    default:
      return undefined
  }
}

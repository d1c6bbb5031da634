import type { ColumnDef } from './metadata.ts'

import { DEFAULT_FORMAT, type UserFormat } from './user-settings.ts'

// `OData.Community.Display.V1.FormattedValue` strings for non-lookup columns, following "Query data using the
// Web API" § Formatted values (learn.microsoft.com/power-apps/developer/data-platform/webapi/query/overview):
// money `$5,000,000.00`, whole numbers `9,500`, dates `4/7/2023 2:59 PM`, state/status labels `Active` for an
// en-US user in UTC; numbers and dates follow the calling user's locale and time zone (see user-settings.ts).

interface Formatters {
  money: Intl.NumberFormat
  whole: Intl.NumberFormat
  decimal: Intl.NumberFormat
  dateTime: Intl.DateTimeFormat
}

const formatters = new Map<string, Formatters>()

function formattersFor({ locale, timeZone }: UserFormat): Formatters {
  const key = `${locale}|${timeZone}`
  let f = formatters.get(key)
  if (!f) {
    // en-US writes 4/7/2023; the other locales' default date formats pad day and month (07.04.2023, 07/04/2023)
    const day = locale === 'en-US' ? 'numeric' : '2-digit'
    f = {
      money: new Intl.NumberFormat(locale, { style: 'currency', currency: 'USD' }),
      whole: new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }),
      decimal: new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
      dateTime: new Intl.DateTimeFormat(locale, {
        timeZone,
        year: 'numeric',
        month: day,
        day,
        hour: 'numeric',
        minute: '2-digit',
      }),
    }
    formatters.set(key, f)
  }
  return f
}

/** The formatted value of a non-null, non-lookup column value, or undefined when Dataverse sends none. */
export function formatValue(
  col: Pick<ColumnDef, 'name' | 'type' | 'choice'>,
  v: unknown,
  format: UserFormat = DEFAULT_FORMAT,
): string | undefined {
  const { money, whole, decimal, dateTime } = formattersFor(format)
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
        : dateTime
            .format(d)
            .replace(',', '')
            .replace(/[\u202f\u00a0]/g, ' ')
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

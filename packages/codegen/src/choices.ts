import type { ColumnDefinition, DataverseDefinitions } from '@dataverse-s2s/webapi'

/**
 * The columns of each table (by logical name) as `client.definitions.columns()` returns them; the choice columns
 * among them (`choice` set) become `as const` enums.
 */
export type TableColumns = Readonly<Record<string, readonly ColumnDefinition[]>>

/**
 * Reads the columns, with their choice options, of `tables` through the Web API's table definitions
 * (`client.definitions`), for the `choices` option of `generate`.
 * @param definitions - `client.definitions` of a `@dataverse-s2s/webapi` client
 * @param tables - logical names
 * @throws {DataverseError} `NOT_FOUND` for a table the org does not have (and the client's other errors)
 * @example
 * const choices = await readChoices(client.definitions, ['account'])
 * const source = generate(parseMetadata(xml), { tables: ['account'], choices })
 */
export async function readChoices(
  definitions: Pick<DataverseDefinitions, 'columns'>,
  tables: readonly string[],
): Promise<TableColumns> {
  const out: Record<string, readonly ColumnDefinition[]> = {}
  for (const t of [...new Set(tables)].sort()) out[t] = await definitions.columns(t)
  return out
}

/** A choice column that gets an enum: picklists, multi-select, state and status (booleans are `boolean` in JSON). */
export function enumColumns(columns: readonly ColumnDefinition[] | undefined): ColumnDefinition[] {
  return (columns ?? [])
    .filter((c) => c.choice !== undefined && c.choice.kind !== 'Boolean' && c.choice.options.length > 0)
    .sort((a, b) => (a.logicalName < b.logicalName ? -1 : 1))
}

// Latin letters NFKD does not decompose into a base letter and a mark.
const LATIN: Record<string, string> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  ł: 'l',
  đ: 'd',
  Æ: 'Ae',
  Œ: 'Oe',
  Ø: 'O',
  Ł: 'L',
  Đ: 'D',
}

/**
 * A member name for an option label, the same for the same labels every time: accents dropped (`Zürich` → `Zurich`),
 * `ß` → `ss`, apostrophes removed, words split on anything not a letter or digit and joined in PascalCase (`Non-Durable
 * Retail` → `NonDurableRetail`); a label with no Latin letter or digit left becomes `Value<value>`, one starting
 * with a digit gets a leading `_`, and a name already taken gets `_<value>` appended.
 */
export function memberNames(options: readonly { value: number; label: string }[]): Map<number, string> {
  const names = new Map<number, string>()
  const taken = new Set<string>()
  for (const o of [...options].sort((a, b) => a.value - b.value)) {
    const words = o.label
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/['\u2019]/g, '')
      .replace(/[ßæœøłđÆŒØŁĐ]/g, (c) => LATIN[c] ?? '')
      .split(/[^A-Za-z0-9]+/)
      .filter(Boolean)
    let name = words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')
    if (name === '') name = `Value${o.value < 0 ? `Minus${-o.value}` : o.value}`
    else if (/^[0-9]/.test(name)) name = `_${name}`
    if (taken.has(name)) name = `${name}_${o.value < 0 ? `minus${-o.value}` : o.value}`
    taken.add(name)
    names.set(o.value, name)
  }
  return names
}

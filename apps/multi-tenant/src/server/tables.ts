/** A table the app shows: what it lists, searches, and lets users write. Anything else in a body is refused. */
export interface TableSpec {
  entitySet: 'accounts' | 'contacts'
  id: string
  title: string
  /** Columns users may write, with their maximum length. */
  writable: Record<string, number>
  required: string
  /** Columns read for lists and views. */
  select: string[]
  orderBy: string
  /** Columns searched with `contains`. */
  search: string[]
}

const specs: Record<TableSpec['entitySet'], TableSpec> = {
  accounts: {
    entitySet: 'accounts',
    id: 'accountid',
    title: 'name',
    writable: { name: 160, telephone1: 50, emailaddress1: 100, websiteurl: 200, address1_city: 80 },
    required: 'name',
    select: ['accountid', 'name', 'telephone1', 'emailaddress1', 'websiteurl', 'address1_city', 'modifiedon'],
    orderBy: 'name',
    search: ['name'],
  },
  contacts: {
    entitySet: 'contacts',
    id: 'contactid',
    title: 'fullname',
    writable: { firstname: 50, lastname: 50, emailaddress1: 100, jobtitle: 100, telephone1: 50 },
    required: 'lastname',
    select: [
      'contactid',
      'fullname',
      'firstname',
      'lastname',
      'emailaddress1',
      'jobtitle',
      'telephone1',
      'modifiedon',
    ],
    orderBy: 'lastname',
    search: ['fullname', 'emailaddress1'],
  },
}

/**
 * The tables by the name used in the API's paths. A `Map`, so only these names resolve: `__proto__`, `constructor`,
 * `toString` and every other inherited property name are unknown tables.
 */
export const tables: ReadonlyMap<string, TableSpec> = new Map(Object.entries(specs))

/** Audit columns shown on a record (Dataverse fills them; with impersonation `createdby` is the user). */
export const auditColumns = ['_createdby_value', '_createdonbehalfby_value', '_modifiedby_value', 'createdon']

/** Half of a UTF-16 surrogate pair without its other half: not a character, and no URL or Dataverse column takes it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Checks a create/update body against the table's writable columns. Returns the clean row or a message. */
export function cleanBody(
  spec: TableSpec,
  body: unknown,
  mode: 'create' | 'update',
): { row: Record<string, string | null> } | { error: string } {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    return { error: 'Send a JSON object of columns.' }
  const row: Record<string, string | null> = {}
  for (const [key, value] of Object.entries(body)) {
    // Own properties only: `constructor`, `__proto__` or `toString` are not columns (the inherited ones are functions).
    const max = Object.hasOwn(spec.writable, key) ? spec.writable[key] : undefined
    if (max === undefined) return { error: `"${key.slice(0, 40)}" cannot be written here.` }
    if (value !== null && typeof value !== 'string') return { error: `"${key}" must be text.` }
    if (typeof value === 'string' && LONE_SURROGATE.test(value)) {
      return {
        error: `"${key}" holds a broken character (half of a surrogate pair): send valid Unicode text.`,
      }
    }
    if (typeof value === 'string' && value.length > max)
      return { error: `"${key}" is longer than ${max} characters.` }
    row[key] = value === null || value.trim() === '' ? null : value.trim()
  }
  if (mode === 'create' && !row[spec.required]) return { error: `"${spec.required}" is required.` }
  if (mode === 'update' && spec.required in row && !row[spec.required]) {
    return { error: `"${spec.required}" cannot be empty.` }
  }
  if (Object.keys(row).length === 0) return { error: 'Nothing to save.' }
  return { row }
}

import type { RecordKey } from './filter.ts'
import { recordPath } from './internal/paths.ts'

/**
 * `/contacts(<id>)` for `"primarycontactid@odata.bind"`.
 * @example
 * await client.create('accounts', { name: 'Fourth Coffee', 'primarycontactid@odata.bind': bind('contacts', contactId) })
 */
export function bind(entitySet: string, key: RecordKey): string {
  return `/${recordPath(entitySet, key)}`
}

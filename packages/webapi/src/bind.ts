import type { RecordKey } from './filter.ts'
import { recordPath } from './internal/paths.ts'

/** `/contacts(<id>)` for `"primarycontactid@odata.bind"`. */
export function bind(entitySet: string, key: RecordKey): string {
  return `/${recordPath(entitySet, key)}`
}

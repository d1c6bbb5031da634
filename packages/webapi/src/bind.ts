import { recordPath } from './internal/paths.ts'
import type { RecordKey } from './types.ts'

/** `/contacts(<id>)` for `"primarycontactid@odata.bind"`. */
export function bind(entitySet: string, key: RecordKey): string {
  return `/${recordPath(entitySet, key)}`
}

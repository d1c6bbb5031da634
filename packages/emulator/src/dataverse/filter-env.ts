import { navigatedId } from './lookups.ts'
import type { OrgModel } from './org-model.ts'
import type { FilterEnv } from './query-functions.ts'
import { readFilter } from './record-access.ts'
import type { CallContext } from './request.ts'
import { userFormat } from './user-settings.ts'

/**
 * What a `$filter` of a call reads beyond the row: the emulator's clock, the calling user (the impersonated one when
 * the call impersonates) with their time zone and business unit, and the related rows of a navigation property
 * (the row a lookup names, or the rows of a collection), which the caller needs the Read privilege on; only the related
 * rows the caller's Read reaches are seen.
 */
export function filterEnv(org: OrgModel, ctx: CallContext | undefined): FilterEnv {
  const userId = ctx?.userId
  const users = org.table('systemuser')
  const user = userId === undefined ? undefined : users.get(userId)
  const businessUnit = user?.[(users.def.byName.get('businessunitid') as { index: number }).index]
  return {
    now: org.world.clock.now(),
    timeZone: userFormat(org, userId).timeZone,
    ...(userId === undefined ? {} : { userId }),
    ...(typeof businessUnit === 'string' ? { businessUnitId: businessUnit } : {}),
    navigate: (def, nav) => {
      const table = org.table(def.logicalName)
      const target = org.table(nav.target)
      org.checkPrivilege(ctx, 'Read', target.def)
      // a related row the caller cannot read is as if absent (record-access.ts)
      const readable = readFilter(org, ctx, target.def)
      if (nav.kind === 'single') {
        return {
          def: target.def,
          rows: (row) => {
            const id = navigatedId(def, nav, row)
            const related = id === undefined ? undefined : target.get(id)
            return related && (!readable || readable(related)) ? [related] : []
          },
        }
      }
      if (!readable) return { def: target.def, rows: (row) => org.related(table, table.id(row), nav) }
      return { def: target.def, rows: (row) => org.related(table, table.id(row), nav).filter(readable) }
    },
  }
}

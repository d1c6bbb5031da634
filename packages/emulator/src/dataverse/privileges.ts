import { createHash } from 'node:crypto'
import { Fault } from './errors.ts'
import type { TableDef } from './metadata.ts'
import type { OrgModel } from './org-model.ts'
import type { AccessDepth, CallContext } from './request.ts'

const DEPTHS: readonly AccessDepth[] = ['Basic', 'Local', 'Deep', 'Global']

/** A role's privilege entry: `prvReadContact` (Global) or `prvReadContact:Basic`; undefined for an unknown level. */
export function parsePrivilege(entry: string): { name: string; depth: AccessDepth } | undefined {
  const colon = entry.indexOf(':')
  if (colon < 0) return { name: entry, depth: 'Global' }
  const depth = DEPTHS.find((d) => d === entry.slice(colon + 1))
  return depth && colon > 0 ? { name: entry.slice(0, colon), depth } : undefined
}

/** The shallower of two levels; undefined (not held) when either is. */
export function shallower(a: AccessDepth | undefined, b: AccessDepth | undefined): AccessDepth | undefined {
  if (a === undefined || b === undefined) return undefined
  return DEPTHS.indexOf(a) <= DEPTHS.indexOf(b) ? a : b
}

/** A user's privileges with the deepest level any of their roles gives (roles add up, the least restrictive wins). */
export function privilegesOf(org: OrgModel, userId: string): Map<string, AccessDepth> {
  const out = new Map<string, AccessDepth>()
  for (const roleId of org.userRoles.related('systemuser', userId)) {
    for (const entry of org.rolePrivileges.get(roleId) ?? []) {
      const p = parsePrivilege(entry)
      if (!p) continue
      const held = out.get(p.name)
      if (held === undefined || DEPTHS.indexOf(p.depth) > DEPTHS.indexOf(held)) out.set(p.name, p.depth)
    }
  }
  return out
}

/** The privileges a user holds, as RetrieveUserPrivileges answers them (with their depth; `*` = all at Global). */
export function userPrivileges(
  org: OrgModel,
  userId: string,
): { Depth: string; PrivilegeId: string; BusinessUnitId: string; PrivilegeName: string }[] {
  const held = org.privilegesOf(userId)
  const names = new Map<string, AccessDepth>()
  if (held.has('*')) {
    for (const def of org.defs.values()) {
      for (const verb of ['Create', 'Read', 'Write', 'Delete', 'Append', 'AppendTo'])
        names.set(`prv${verb}${def.schemaName}`, 'Global')
    }
    names.set('prvActOnBehalfOfAnotherUser', 'Global')
  }
  for (const [p, depth] of held) if (p !== '*' && !names.has(p)) names.set(p, depth)
  return [...names]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, depth]) => ({
      Depth: depth,
      PrivilegeId: privilegeId(name),
      BusinessUnitId: org.rootBusinessUnitId,
      PrivilegeName: name,
    }))
}

export function checkPrivilege(ctx: CallContext | undefined, verb: string, def: TableDef): void {
  if (!ctx) return
  const prv = `prv${verb}${def.schemaName}`
  if (!ctx.can(prv)) throw Fault.privilegeDenied(ctx.userId, prv, def.logicalName)
}

export function checkAppend(
  org: OrgModel,
  ctx: CallContext | undefined,
  source: TableDef,
  target: TableDef,
): void {
  org.checkPrivilege(ctx, 'Append', source)
  org.checkPrivilege(ctx, 'AppendTo', target)
}

/** A stable GUID for a privilege name (Dataverse's are fixed per privilege too). */
function privilegeId(name: string): string {
  const h = createHash('sha1').update(`privilege:${name}`).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

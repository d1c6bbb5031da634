import { createHash } from 'node:crypto'
import { Fault } from './errors.ts'
import type { TableDef } from './metadata.ts'
import type { OrgModel } from './org-model.ts'
import type { CallContext } from './request.ts'

// Privileges: what a user's roles grant, and the checks every operation makes.

export function privilegesOf(org: OrgModel, userId: string): Set<string> {
  const out = new Set<string>()
  for (const roleId of org.userRoles.related('systemuser', userId)) {
    for (const p of org.rolePrivileges.get(roleId) ?? []) out.add(p)
  }
  return out
}

/** The privileges a user holds, as RetrieveUserPrivileges answers them (organization depth = 'Global'). */
export function userPrivileges(
  org: OrgModel,
  userId: string,
): { Depth: string; PrivilegeId: string; BusinessUnitId: string; PrivilegeName: string }[] {
  const held = org.privilegesOf(userId)
  const names = new Set<string>()
  if (held.has('*')) {
    for (const def of org.defs.values()) {
      for (const verb of ['Create', 'Read', 'Write', 'Delete', 'Append', 'AppendTo'])
        names.add(`prv${verb}${def.schemaName}`)
    }
    names.add('prvActOnBehalfOfAnotherUser')
  }
  for (const p of held) if (p !== '*') names.add(p)
  return [...names].sort().map((name) => ({
    Depth: 'Global',
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

import type { VerifiedUser } from '@dataverse-s2s/core'
import { describe, expect, it } from 'vitest'
import { isTenantAdministrator, TENANT_ADMIN_ROLE_TEMPLATE_IDS } from './admins.ts'

const tid = 'aaaaaaaa-0000-4000-8000-000000000001'
const other = 'bbbbbbbb-0000-4000-8000-000000000002'
const globalAdmin = '62e90394-69f5-4237-9190-012177145e10'

function user(claims: Record<string, unknown>, over: Partial<VerifiedUser> = {}): VerifiedUser {
  return {
    tenantId: tid,
    objectId: 'oid',
    name: 'N',
    username: undefined,
    clientId: undefined,
    tokenVersion: '2.0',
    tokenType: 'user',
    scopes: ['access_as_user'],
    roles: [],
    claims,
    ...over,
  }
}

describe('isTenantAdministrator', () => {
  it('accepts each of the four roles that can grant tenant-wide consent, in any case', () => {
    expect(TENANT_ADMIN_ROLE_TEMPLATE_IDS).toHaveLength(4)
    for (const id of TENANT_ADMIN_ROLE_TEMPLATE_IDS) {
      expect(isTenantAdministrator(user({ wids: [id.toUpperCase()] }), tid)).toBe(true)
    }
  })

  it('refuses other roles, no wids, a wids that is not a list, and the roles of another tenant', () => {
    expect(isTenantAdministrator(user({ wids: ['b79fbf4d-3ef9-4689-8143-76b194e85509'] }), tid)).toBe(false)
    expect(isTenantAdministrator(user({}), tid)).toBe(false)
    expect(isTenantAdministrator(user({ wids: globalAdmin }), tid)).toBe(false)
    expect(isTenantAdministrator(user({ wids: [globalAdmin] }), other)).toBe(false)
  })

  it('refuses an app-only or ID token even with an admin role', () => {
    expect(isTenantAdministrator(user({ wids: [globalAdmin] }, { tokenType: 'app' }), tid)).toBe(false)
    expect(isTenantAdministrator(user({ wids: [globalAdmin] }, { tokenType: 'id' }), tid)).toBe(false)
  })

  it('accepts the Tenant.Admin app role unless told otherwise, and custom role lists', () => {
    const withRole = user({}, { roles: ['Tenant.Admin'] })
    expect(isTenantAdministrator(withRole, tid)).toBe(true)
    expect(isTenantAdministrator(withRole, tid, { appRole: null })).toBe(false)
    expect(isTenantAdministrator(user({}, { roles: ['Tenant.Admins'] }), tid)).toBe(false)
    expect(isTenantAdministrator(user({ wids: [globalAdmin] }), tid, { roleTemplateIds: ['x'] })).toBe(false)
    expect(isTenantAdministrator(user({ wids: ['x'] }), tid, { roleTemplateIds: ['X'] })).toBe(true)
    expect(Object.isFrozen(TENANT_ADMIN_ROLE_TEMPLATE_IDS)).toBe(true)
  })
})

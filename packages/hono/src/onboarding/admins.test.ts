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

  it('compares tenant ids case-insensitively, on both sides', () => {
    expect(isTenantAdministrator(user({ wids: [globalAdmin] }), tid.toUpperCase())).toBe(true)
    expect(isTenantAdministrator(user({ wids: [globalAdmin] }, { tenantId: tid.toUpperCase() }), tid)).toBe(
      true,
    )
    expect(isTenantAdministrator(user({ wids: [globalAdmin] }), other.toUpperCase())).toBe(false)
  })

  it('finds an admin role anywhere in wids and skips entries that are not strings', () => {
    expect(
      isTenantAdministrator(user({ wids: ['b79fbf4d-3ef9-4689-8143-76b194e85509', globalAdmin] }), tid),
    ).toBe(true)
    expect(isTenantAdministrator(user({ wids: [42, null, globalAdmin] }), tid)).toBe(true)
    expect(isTenantAdministrator(user({ wids: [42] }), tid)).toBe(false)
  })

  it('does not let an app-only token or another tenant in through the app role either', () => {
    // app-only tokens carry `roles` too: the Tenant.Admin app role granted to a daemon is not a signed-in admin
    expect(isTenantAdministrator(user({}, { roles: ['Tenant.Admin'], tokenType: 'app' }), tid)).toBe(false)
    expect(isTenantAdministrator(user({}, { roles: ['Tenant.Admin'] }), other)).toBe(false)
  })

  it('uses a custom app role instead of Tenant.Admin when given one', () => {
    const opts = { appRole: 'Connector.Admin' }
    expect(isTenantAdministrator(user({}, { roles: ['Connector.Admin'] }), tid, opts)).toBe(true)
    expect(isTenantAdministrator(user({}, { roles: ['Tenant.Admin'] }), tid, opts)).toBe(false)
  })

  it('knows the four built-in roles by their documented template ids (entra-docs permissions-reference.md)', () => {
    const documented = [
      '62e90394-69f5-4237-9190-012177145e10', // Global Administrator
      'e8611ab8-c189-46e8-94e1-60213ab1f814', // Privileged Role Administrator
      '158c047a-c907-4556-b7ef-446551a6b5f7', // Cloud Application Administrator
      '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3', // Application Administrator
    ]
    for (const id of documented) expect(isTenantAdministrator(user({ wids: [id] }), tid), id).toBe(true)
  })
})

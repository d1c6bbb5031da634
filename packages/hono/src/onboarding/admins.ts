import type { VerifiedUser } from '@dataverse-s2s/core'

/**
 * Template ids of the Entra built-in directory roles that can grant tenant-wide admin consent to an app (entra-docs
 * permissions-reference.md and grant-admin-consent.md): Global Administrator, Privileged Role Administrator, Cloud
 * Application Administrator, Application Administrator. The `wids` claim carries them when the app registration's
 * manifest sets `groupMembershipClaims` to `DirectoryRole` or `All` (entra-docs access-token-claims-reference.md).
 */
export const TENANT_ADMIN_ROLE_TEMPLATE_IDS: readonly string[] = Object.freeze([
  '62e90394-69f5-4237-9190-012177145e10',
  'e8611ab8-c189-46e8-94e1-60213ab1f814',
  '158c047a-c907-4556-b7ef-446551a6b5f7',
  '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3',
])

/** The app role an ISV documents for customers who want to delegate the connection without a directory role. */
export const TENANT_ADMIN_APP_ROLE = 'Tenant.Admin'

/** Options of {@link isTenantAdministrator}. */
export interface TenantAdministratorOptions {
  /** Directory role template ids that make an administrator (default {@link TENANT_ADMIN_ROLE_TEMPLATE_IDS}). */
  roleTemplateIds?: readonly string[]
  /** App role that makes an administrator (default `Tenant.Admin`; `null` for none). */
  appRole?: string | null
}

/**
 * Whether a verified user may administer the connection of `tenantId`: a user of that very tenant who holds one of
 * the directory roles that can grant tenant-wide consent (`wids`), or the `Tenant.Admin` app role (`roles`).
 * @example
 * app.post('/api/settings', (c) => {
 *   if (!isTenantAdministrator(c.var.user, c.var.tenant.tenantId))
 *     return errorResponse(c, 403, 'not_tenant_admin', 'Only an administrator of your organization may change this.')
 *   return c.json({ saved: true })
 * })
 */
export function isTenantAdministrator(
  user: VerifiedUser,
  tenantId: string,
  options: TenantAdministratorOptions = {},
): boolean {
  if (user.tokenType !== 'user') return false
  if (user.tenantId.toLowerCase() !== tenantId.toLowerCase()) return false
  const ids = (options.roleTemplateIds ?? TENANT_ADMIN_ROLE_TEMPLATE_IDS).map((id) => id.toLowerCase())
  const wids = user.claims['wids']
  if (Array.isArray(wids) && wids.some((w) => typeof w === 'string' && ids.includes(w.toLowerCase())))
    return true
  const appRole = options.appRole === undefined ? TENANT_ADMIN_APP_ROLE : options.appRole
  return appRole !== null && user.roles.includes(appRole)
}

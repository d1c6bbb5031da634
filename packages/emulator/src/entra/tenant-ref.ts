import type { Tenant } from '../world/types.ts'
import type { World } from '../world/world.ts'

/** A tenant path segment: a real tenant, or one of Entra's multi-tenant aliases. */
export type TenantRef =
  | { kind: 'tenant'; tenant: Tenant; segment: string }
  | { kind: 'common' | 'organizations'; segment: string }

export function resolveTenant(world: World, segment: string): TenantRef | undefined {
  const lower = segment.toLowerCase()
  if (lower === 'common' || lower === 'organizations') return { kind: lower, segment: lower }
  const tenant = world.getTenant(segment)
  return tenant ? { kind: 'tenant', tenant, segment } : undefined
}

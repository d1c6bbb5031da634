import type { Context, Hono } from 'hono'
import type { World } from '../world/world.ts'
import { aad } from './aad-error.ts'
import type { TenantRef } from './app.ts'

/** An issued authorization code (single use, 10 minutes). */
export interface AuthorizationCode {
  clientId: string
  redirectUri: string
  userObjectId: string
  tenantId: string
  scopes: string[]
  nonce?: string
  codeChallenge?: string
  codeChallengeMethod?: string
  expiresAt: number
  authTime: number
}

/** A refresh token's grant. */
export interface RefreshGrant {
  clientId: string
  userObjectId: string
  tenantId: string
  scopes: string[]
  spa: boolean
  expiresAt: number
}

/** State of the user flows. */
export interface UserFlowState {
  codes: Map<string, AuthorizationCode>
  refreshTokens: Map<string, RefreshGrant>
  /** Browser sign-in sessions by cookie value: the signed-in user per tenant. */
  sessions: Map<string, { userObjectId: string; authTime: number }>
}

export interface UserFlowOptions {
  world: World
  state: UserFlowState
  resolveTenant: (segment: string) => TenantRef | undefined
}

export interface UserFlows {
  redeem(
    version: 'v1' | 'v2',
    grant: 'authorization_code' | 'refresh_token',
    ref: TenantRef,
    form: URLSearchParams,
    c: Context,
  ): Promise<Record<string, unknown>>
}

export function registerUserFlows(_app: Hono, _options: UserFlowOptions): UserFlows {
  return {
    async redeem(_version, grant) {
      throw aad.unsupportedGrant(grant)
    },
  }
}

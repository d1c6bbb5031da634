import { Hono } from 'hono'
import type { Counters, Faults } from './faults.ts'
import type { OrgInfo } from './world/types.ts'
import type { World } from './world/world.ts'

/** What the Dataverse side gives back for one org (see the emulator contract). */
export interface OrgRuntimeLike {
  app: Hono
  data: {
    insertRows(table: string, rows: Record<string, unknown>[]): string[]
    count(table: string): number
    listTables(): string[]
    createApplicationUser(appId: string, roleNames: string[]): string
    setApplicationUserDisabled(appId: string, disabled: boolean): void
    ensureSystemUserForUser(user: import('./world/types.ts').User, roleNames: string[]): string
  }
  setLimits(limits: Record<string, unknown>): void
  snapshot(): unknown
  reset(): void
  restore?(snapshot: unknown): void
}

export interface CreateOrgOptions {
  world: World
  org: OrgInfo
  seed?: unknown
  faults: Faults
  counters: Counters
  snapshot?: unknown
}

export type OrgFactory = (options: CreateOrgOptions) => OrgRuntimeLike | Promise<OrgRuntimeLike>

let cached: OrgFactory | undefined

/** The Dataverse side's `createOrg`, loaded from `./dataverse/index.ts`. */
export async function loadOrgFactory(): Promise<OrgFactory> {
  if (cached) return cached
  // Resolved at run time so this package builds while the Dataverse side is written alongside.
  const path = './dataverse/index.ts'
  try {
    const mod = (await import(/* @vite-ignore */ path)) as { createOrg?: OrgFactory }
    if (typeof mod.createOrg === 'function') {
      cached = mod.createOrg
      return cached
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err
  }
  return unavailableOrg
}

// Until the Dataverse side is present, an org answers every request with a Dataverse-shaped 503.
const unavailableOrg: OrgFactory = () => {
  const app = new Hono()
  app.all('*', (c) =>
    c.json(
      {
        error: {
          code: '0x80040216',
          message: 'The Dataverse side of the emulator is not available in this build.',
        },
      },
      503,
    ),
  )
  const fail = (): never => {
    throw new Error('The Dataverse side of the emulator is not available in this build.')
  }
  return {
    app,
    data: {
      insertRows: fail,
      count: fail,
      listTables: () => [],
      createApplicationUser: fail,
      setApplicationUserDisabled: fail,
      ensureSystemUserForUser: fail,
    },
    setLimits: () => undefined,
    snapshot: () => null,
    reset: () => undefined,
  }
}

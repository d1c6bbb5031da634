import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { MAX_ORG_BODY_BYTES } from '../body-limit.ts'
import type { OrgRuntime, ServiceProtectionLimits } from '../dataverse/index.ts'
import type { EntraState } from '../entra/app.ts'
import type { FederatedIdentityCredential, ManagedIdentity } from '../entra/managed-identity.ts'
import { EmulatorError } from '../errors.ts'
import type { CounterSnapshot, Counters, FaultRule, Faults, InstalledFault } from '../faults.ts'
import type {
  AppRegistration,
  AppSeed,
  CertificateCredential,
  CertificateSeed,
  ClientSecret,
  OrgInfo,
  OrgSeedEntry,
  ServicePrincipal,
  Tenant,
  User,
  UserSeed,
} from '../world/types.ts'
import type { OrgRecord, World, WorldSnapshot } from '../world/world.ts'

/** The emulator's clock, as the admin API reports it. */
export interface EmulatorClockState {
  /** The emulator's time (ISO 8601). */
  now: string
  /** How far ahead of real time it runs, in milliseconds. */
  offsetMs: number
}

/** The admin API of a running emulator (also served over HTTP under `/_emulator/`). */
export interface EmulatorAdmin {
  createTenant(input: { id?: string; displayName: string; domain?: string }): Tenant
  createApp(input: AppSeed): Promise<AppRegistration>
  addCredential(
    appId: string,
    credential: { secret: string } | CertificateSeed,
  ): Promise<ClientSecret | CertificateCredential>
  createUser(input: UserSeed): User
  /** Declares an org and starts serving it on its own origin; resolves with its URL. */
  createOrg(input: OrgSeedEntry): Promise<OrgInfo>
  /** Admin consent: creates the app's service principal in the tenant. */
  grantConsent(tenantId: string, appId: string): ServicePrincipal
  /** Deletes the app's service principal in the tenant (tokens then fail with AADSTS700016). */
  revokeConsent(tenantId: string, appId: string): boolean
  /** Creates the application user of `appId` in the org with the named roles; returns its systemuserid. */
  createApplicationUser(orgId: string, appId: string, roleNames?: string[]): string
  setApplicationUserDisabled(orgId: string, appId: string, disabled: boolean): void
  insertRows(orgId: string, table: string, rows: Record<string, unknown>[]): string[]
  /** Service protection limits of an org (see the Dataverse side's `ServiceProtectionLimits`). */
  setLimits(orgId: string, limits: Partial<ServiceProtectionLimits>): void
  /** The Dataverse runtime of an org (its data API), for tests. */
  org(orgId: string): OrgRuntime
  injectFault(rule: FaultRule): string
  removeFault(id: string): boolean
  listFaults(): InstalledFault[]
  /** Removes every fault and restarts the fault generator (from `seed` when given). */
  clearFaults(seed?: number): void
  counters(): CounterSnapshot
  resetCounters(): void
  /** Makes a new token signing key current; the previous one stays published unless `retainPrevious` is false. */
  rolloverSigningKey(options?: { retainPrevious?: boolean }): Promise<string>
  /** Lifetime in seconds (1 to 86400) of the app-only access tokens issued from now on. */
  setTokenLifetime(seconds: number): void
  /**
   * Moves the emulator's clock forward by `seconds` (fractions allowed, to the millisecond): the tokens it issued
   * expire, and authorization codes and refresh tokens age, without waiting. Returns the emulator's time afterwards.
   * Only the emulator's clock moves: client assertions are still checked against real time (clients sign them with
   * theirs), and clients keep their own clocks.
   * @throws {EmulatorError} 'INVALID_ARGUMENT' for a negative or non-finite amount.
   */
  advanceClock(seconds: number): EmulatorClockState
  /** The emulator's time and how far ahead of real time it runs. */
  clock(): EmulatorClockState
  /**
   * Adds a managed identity of the emulated Azure resource, served by the identity endpoint (`/msi/token`, App
   * Service form, header `X-IDENTITY-HEADER: emulator-identity-header`; `/metadata/identity/oauth2/token`, IMDS form).
   */
  addManagedIdentity(input: {
    tenantId: string
    clientId?: string
    objectId?: string
    systemAssigned?: boolean
  }): ManagedIdentity
  /**
   * Adds a federated identity credential to an app registration; a managed identity's token whose issuer, subject and
   * audience match it is then accepted as the app's client assertion. Audiences default to `api://AzureADTokenExchange`.
   */
  addFederatedCredential(
    appId: string,
    input: { name?: string; issuer: string; subject: string; audiences?: string[] },
  ): FederatedIdentityCredential
  /** The managed identities, with how many tokens the identity endpoint issued for each. */
  listManagedIdentities(): ManagedIdentity[]
  /** Back to the state right after start: world, orgs' data, faults, counters, sessions, the clock. */
  reset(): Promise<void>
  /** Writes the state folder now (when persisting). */
  save(): Promise<void>
}

export interface AdminOptions {
  world: World
  faults: Faults
  counters: Counters
  entraState: EntraState
  orgRuntimes: Map<string, OrgRuntime>
  serveOrg(org: OrgRecord): Promise<void>
  stopOrg(id: string): Promise<void>
  initial: WorldSnapshot
  save(): Promise<void>
}

export function createAdminApi(options: AdminOptions): { api: EmulatorAdmin; http: Hono } {
  const { world, faults, counters, entraState, orgRuntimes } = options
  const initialTokenLifetime = entraState.appTokenLifetimeSeconds

  const runtime = (orgId: string): OrgRuntime => {
    const rt = orgRuntimes.get(orgId.toLowerCase())
    if (!rt) throw new EmulatorError('NOT_FOUND', `Org ${orgId} does not exist (or is not served).`)
    return rt
  }
  const orgInfo = (o: OrgRecord): OrgInfo => ({
    id: o.id,
    uniqueName: o.uniqueName,
    tenantId: o.tenantId,
    displayName: o.displayName,
    url: o.url,
  })

  const api: EmulatorAdmin = {
    createTenant: (input) => world.addTenant(input),
    createApp: (input) => world.addApp(input),
    addCredential: (appId, credential) => world.addCredential(appId, credential),
    createUser: (input) => world.addUser(input),
    async createOrg(input) {
      const org = world.addOrg(input)
      try {
        await options.serveOrg(org)
      } catch (err) {
        world.orgs.delete(org.id)
        world.changed()
        throw err
      }
      world.changed()
      return orgInfo(org)
    },
    grantConsent: (tenantId, appId) => world.grantConsent(tenantId, appId),
    revokeConsent: (tenantId, appId) => world.revokeConsent(tenantId, appId),
    createApplicationUser(orgId, appId, roleNames = []) {
      const id = runtime(orgId).data.createApplicationUser(appId, roleNames)
      world.changed()
      return id
    },
    setApplicationUserDisabled(orgId, appId, disabled) {
      runtime(orgId).data.setApplicationUserDisabled(appId, disabled)
      world.changed()
    },
    insertRows(orgId, table, rows) {
      const ids = runtime(orgId).data.insertRows(table, rows)
      world.changed()
      return ids
    },
    setLimits: (orgId, limits) => runtime(orgId).setLimits(limits),
    org: runtime,
    injectFault: (rule) => faults.add(rule),
    removeFault: (id) => faults.remove(id),
    listFaults: () => faults.list(),
    clearFaults: (seed) => faults.clear(seed),
    counters: () => counters.read(),
    resetCounters: () => counters.reset(),
    setTokenLifetime(seconds) {
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400)
        throw new EmulatorError(
          'INVALID_ARGUMENT',
          `The token lifetime must be a whole number of seconds between 1 and 86400, not ${String(seconds)}.`,
        )
      entraState.appTokenLifetimeSeconds = seconds
    },
    async rolloverSigningKey(opts) {
      const kid = await world.signingKeys.rollover(opts)
      world.changed()
      return kid
    },
    advanceClock(seconds) {
      if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0)
        throw new EmulatorError(
          'INVALID_ARGUMENT',
          `The clock moves forward by a number of seconds (0 or more), not ${String(seconds)}.`,
        )
      world.clock.advance(Math.round(seconds * 1000))
      return api.clock()
    },
    clock: () => ({ now: new Date(world.clock.now()).toISOString(), offsetMs: world.clock.offsetMs }),
    async reset() {
      world.clock.reset()
      const initialOrgs = new Set(options.initial.orgs.map((o) => o.id))
      for (const id of [...orgRuntimes.keys()]) if (!initialOrgs.has(id)) await options.stopOrg(id)
      const urls = new Map([...world.orgs.values()].map((o) => [o.id, { url: o.url, port: o.port }]))
      await world.restore(options.initial)
      for (const o of world.orgs.values()) {
        const served = urls.get(o.id)
        if (served) {
          o.url = served.url
          if (served.port !== undefined) o.port = served.port
        }
      }
      for (const rt of orgRuntimes.values()) rt.reset()
      faults.clear()
      counters.reset()
      entraState.replay.clear()
      entraState.appTokenLifetimeSeconds = initialTokenLifetime
      entraState.codes.clear()
      entraState.refreshTokens.clear()
      entraState.sessions.clear()
      entraState.managedIdentities.clear()
      world.changed()
    },
    save: () => options.save(),
    addManagedIdentity(input) {
      if (!world.getTenant(input.tenantId))
        throw new EmulatorError('NOT_FOUND', `Tenant ${input.tenantId} does not exist.`)
      return entraState.managedIdentities.addIdentity(input)
    },
    listManagedIdentities: () => entraState.managedIdentities.identities.map((i) => ({ ...i })),
    addFederatedCredential(appId, input) {
      if (!world.getApp(appId)) throw new EmulatorError('NOT_FOUND', `App ${appId} does not exist.`)
      return entraState.managedIdentities.addFederatedCredential(appId, input)
    },
  }

  return { api, http: adminHttp(api, world) }
}

const statusOf: Record<string, ContentfulStatusCode> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  NO_SERVICE_PRINCIPAL: 409,
  UNKNOWN_RESOURCE: 404,
  STATE: 500,
  TLS: 500,
  STOPPED: 503,
}

function adminHttp(api: EmulatorAdmin, world: World): Hono {
  const app = new Hono()
  // Rows for insertRows can be many, but never unbounded: the same bound as an org's request bodies.
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_ORG_BODY_BYTES,
      onError: (c) => {
        c.header('Connection', 'close')
        return c.json(
          {
            error: {
              code: 'PAYLOAD_TOO_LARGE',
              message: `The body is larger than the admin API accepts (${MAX_ORG_BODY_BYTES} bytes); send rows in smaller batches.`,
            },
          },
          413,
        )
      },
    }),
  )
  app.onError((err, c) => {
    if (err instanceof EmulatorError)
      return c.json({ error: { code: err.code, message: err.message } }, statusOf[err.code] ?? 400)
    if (err instanceof SyntaxError)
      return c.json({ error: { code: 'INVALID_ARGUMENT', message: 'The body is not valid JSON.' } }, 400)
    // The Dataverse side throws its own errors for bad rows/tables; they are the caller's mistake.
    const message = err instanceof Error ? err.message : 'The request failed.'
    return c.json({ error: { code: 'INVALID_ARGUMENT', message } }, 400)
  })
  const body = async <T>(c: { req: { json: () => Promise<unknown> } }): Promise<T> => {
    const value = await c.req.json()
    if (value === null || typeof value !== 'object')
      throw new EmulatorError('INVALID_ARGUMENT', 'The body must be a JSON object.')
    return value as T
  }

  app.get('/', (c) =>
    c.json({
      url: world.authorityUrl,
      tenants: [...world.tenants.values()],
      apps: [...world.apps.values()],
      users: [...world.users.values()],
      servicePrincipals: [...world.servicePrincipals.values()],
      orgs: [...world.orgs.values()].map(({ id, uniqueName, tenantId, displayName, url }) => ({
        id,
        uniqueName,
        tenantId,
        displayName,
        url,
      })),
    }),
  )
  app.post('/tenants', async (c) => c.json(api.createTenant(await body(c)), 201))
  app.post('/apps', async (c) => c.json(await api.createApp(await body(c)), 201))
  app.post('/apps/:appId/credentials', async (c) =>
    c.json(await api.addCredential(c.req.param('appId'), await body(c)), 201),
  )
  app.post('/users', async (c) => c.json(api.createUser(await body(c)), 201))
  app.post('/orgs', async (c) => c.json(await api.createOrg(await body(c)), 201))
  app.post('/consents', async (c) => {
    const b = await body<{ tenantId?: string; appId?: string }>(c)
    if (!b.tenantId || !b.appId)
      throw new EmulatorError('INVALID_ARGUMENT', 'A consent needs tenantId and appId.')
    return c.json(api.grantConsent(b.tenantId, b.appId), 201)
  })
  app.delete('/consents/:tenantId/:appId', (c) => {
    const removed = api.revokeConsent(c.req.param('tenantId'), c.req.param('appId'))
    return removed
      ? c.body(null, 204)
      : c.json({ error: { code: 'NOT_FOUND', message: 'No such consent.' } }, 404)
  })
  app.post('/orgs/:orgId/application-users', async (c) => {
    const b = await body<{ appId?: string; roles?: string[] }>(c)
    if (!b.appId) throw new EmulatorError('INVALID_ARGUMENT', 'An application user needs appId.')
    return c.json(
      { systemuserid: api.createApplicationUser(c.req.param('orgId'), b.appId, b.roles ?? []) },
      201,
    )
  })
  app.patch('/orgs/:orgId/application-users/:appId', async (c) => {
    const b = await body<{ disabled?: boolean }>(c)
    if (typeof b.disabled !== 'boolean')
      throw new EmulatorError('INVALID_ARGUMENT', 'Send { "disabled": true | false }.')
    api.setApplicationUserDisabled(c.req.param('orgId'), c.req.param('appId'), b.disabled)
    return c.body(null, 204)
  })
  app.post('/orgs/:orgId/tables/:table/rows', async (c) => {
    const rows = await c.req.json()
    if (!Array.isArray(rows)) throw new EmulatorError('INVALID_ARGUMENT', 'Send a JSON array of rows.')
    return c.json({ ids: api.insertRows(c.req.param('orgId'), c.req.param('table'), rows) }, 201)
  })
  app.get('/orgs/:orgId/tables/:table/count', (c) =>
    c.json({ count: api.org(c.req.param('orgId')).data.count(c.req.param('table')) }),
  )
  app.put('/orgs/:orgId/limits', async (c) => {
    api.setLimits(c.req.param('orgId'), await body(c))
    return c.body(null, 204)
  })
  app.post('/faults', async (c) => c.json({ id: api.injectFault(await body(c)) }, 201))
  app.get('/faults', (c) => c.json(api.listFaults()))
  app.delete('/faults/:id', (c) =>
    api.removeFault(c.req.param('id'))
      ? c.body(null, 204)
      : c.json({ error: { code: 'NOT_FOUND', message: 'No such fault.' } }, 404),
  )
  app.delete('/faults', async (c) => {
    const seed = c.req.query('seed')
    api.clearFaults(seed === undefined ? undefined : Number(seed))
    return c.body(null, 204)
  })
  app.get('/counters', (c) => c.json(api.counters()))
  app.delete('/counters', (c) => {
    api.resetCounters()
    return c.body(null, 204)
  })
  app.put('/token-lifetime', async (c) => {
    const b = (await body(c)) as { seconds?: unknown }
    api.setTokenLifetime(Number(b.seconds))
    return c.body(null, 204)
  })
  app.post('/signing-keys/rollover', async (c) => {
    const text = await c.req.text()
    const b = text ? (JSON.parse(text) as { retainPrevious?: boolean }) : {}
    return c.json(
      { kid: await api.rolloverSigningKey(b.retainPrevious === false ? { retainPrevious: false } : {}) },
      201,
    )
  })
  app.get('/managed-identities', (c) => c.json(api.listManagedIdentities()))
  app.post('/managed-identities', async (c) =>
    c.json(
      api.addManagedIdentity((await body(c)) as Parameters<EmulatorAdmin['addManagedIdentity']>[0]),
      201,
    ),
  )
  app.post('/apps/:appId/federated-credentials', async (c) =>
    c.json(
      api.addFederatedCredential(
        c.req.param('appId'),
        (await body(c)) as Parameters<EmulatorAdmin['addFederatedCredential']>[1],
      ),
      201,
    ),
  )
  app.get('/clock', (c) => c.json(api.clock()))
  app.post('/clock', async (c) => {
    const b = (await body(c)) as { advanceSeconds?: unknown }
    return c.json(api.advanceClock(b.advanceSeconds as number))
  })
  app.post('/reset', async (c) => {
    await api.reset()
    return c.body(null, 204)
  })
  app.post('/save', async (c) => {
    await api.save()
    return c.body(null, 204)
  })
  return app
}

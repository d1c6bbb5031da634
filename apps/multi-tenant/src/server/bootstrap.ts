import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { checkTenantConnection, type TenantRegistry } from '@dataverse-s2s/hono'
import { serve } from '@hono/node-server'
import type { Hono } from 'hono'
import { createApp } from './app.ts'
import { type AppConfig, loadConfig } from './config.ts'
import { openEngines } from './engines.ts'
import {
  createServices,
  emulatorCloud,
  entraIdentity,
  type IdentitySettings,
  type Services,
} from './services.ts'

type Emulator = Awaited<ReturnType<typeof import('@dataverse-s2s/emulator').startEmulator>>

/** Options of {@link startApp}; every field overrides the configuration read from the environment. */
export interface StartAppOptions {
  config?: Partial<AppConfig>
  /** Emulator mode: its Entra ID port (default `EMULATOR_PORT` or 8443, orgs on the following ports; 0 for random ports). */
  emulatorPort?: number
  /** Keep the emulator's state (CA, consents, rows) in `{dataDir}/emulator` (default true). */
  persistEmulator?: boolean
  /** Registry in memory instead of `{dataDir}/registry` (tests and benchmarks; starts from a cached template). */
  inMemoryRegistry?: boolean
  /**
   * The identity platform to use instead of the configured one: e.g. an emulator that several instances share
   * (the multi-instance tests start one emulator and three app processes on it).
   */
  identity?: IdentitySettings
  /** Built SPA to serve. */
  staticRoot?: string
  /** Listen on `config.port` (default true); false for `app.request` tests. */
  listen?: boolean
  logSink?: (line: string) => void
  quiet?: boolean
}

/** A running app. */
export interface RunningApp {
  url: string
  /** The port the server listens on (when listening), which differs from the public URL's behind a balancer. */
  port: number | undefined
  app: Hono
  services: Services
  registry: TenantRegistry
  emulator: Emulator | undefined
  stop(): Promise<void>
}

/**
 * Starts the sample: reads the configuration, starts the embedded emulator when no Entra ID app is configured,
 * opens the tenant registry (PGlite, or PostgreSQL with `DATABASE_URL`; Redis with `REDIS_URL`), and serves the SPA and the API on one origin.
 */
export async function startApp(options: StartAppOptions = {}): Promise<RunningApp> {
  const config = { ...loadConfig(), ...options.config }
  let emulator: Emulator | undefined
  let identity: IdentitySettings
  if (options.identity) {
    identity = options.identity
  } else if (config.mode === 'emulator') {
    const { startEmulator, defaultIds } = await import('@dataverse-s2s/emulator')
    emulator = await startEmulator({
      port: options.emulatorPort ?? config.emulatorPort,
      ...(options.persistEmulator === false ? {} : { stateDir: join(config.dataDir, 'emulator') }),
    })
    // The app registration asks for `wids` (the admins' directory roles): also in an emulator state saved before the
    // emulator issued them.
    if (!emulator.world.getApp(defaultIds.multiTenantAppId)?.groupMembershipClaims) {
      emulator.world.setGroupMembershipClaims(defaultIds.multiTenantAppId, 'DirectoryRole')
    }
    identity = {
      clientId: defaultIds.multiTenantAppId,
      credential: { secret: defaultIds.multiTenantAppSecret },
      cloud: emulatorCloud(emulator.url),
      ca: emulator.caCertPem,
    }
  } else {
    identity = entraIdentity(config)
  }
  // Listen first (port 0 picks one), so the public URL is known before the services are built.
  let handler: Hono['fetch'] | undefined
  let server: ReturnType<typeof serve> | undefined
  if (options.listen !== false) {
    server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve(
        {
          fetch: (req, env) => (handler ? handler(req, env) : new Response('Starting', { status: 503 })),
          port: config.port,
          hostname: '127.0.0.1',
        },
        () => resolve(s),
      )
      s.once('error', reject)
    })
    if (config.port === 0 && !options.config?.publicUrl) {
      config.publicUrl = `http://localhost:${(server.address() as AddressInfo).port}`
    }
  }
  const url = config.publicUrl
  const engines = await openEngines(config, {
    clientId: identity.clientId,
    ...(options.inMemoryRegistry ? { inMemoryRegistry: true } : {}),
    warn: (m, f) => process.stderr.write(`${JSON.stringify({ level: 'warn', msg: m, ...f })}\n`),
  })
  const registry = engines.registry
  const services = createServices(config, identity, registry, {
    ...(options.logSink ? { logSink: options.logSink } : {}),
    ...(options.quiet ? { quiet: true } : {}),
    ...(engines.tokenStore ? { tokenStore: engines.tokenStore } : {}),
    ...(engines.throttle ? { throttle: engines.throttle } : {}),
    ...(emulator ? { emulatorOrgs: () => (emulator as Emulator).orgs } : {}),
  })
  if (emulator) await seedEmulatorTenants(services, emulator)
  const app = createApp(services, options.staticRoot ? { staticRoot: options.staticRoot } : {})
  handler = app.fetch
  return {
    url,
    port: server ? (server.address() as AddressInfo).port : undefined,
    app,
    services,
    registry,
    emulator,
    async stop() {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
      await engines.close()
      await emulator?.stop()
    },
  }
}

/**
 * In the emulator's world Contoso is already onboarded (consent, application user, role) by its admin Megan Bowen:
 * record it as such, in her name, as if she had gone through the onboarding.
 */
async function seedEmulatorTenants(s: Services, emulator: Emulator): Promise<void> {
  const { defaultIds } = await import('@dataverse-s2s/emulator')
  const contoso = emulator.orgs.find((o) => o.tenantId === defaultIds.contosoTenantId)
  if (!contoso || (await s.registry.get(contoso.tenantId))) return
  const megan = { objectId: defaultIds.users.contosoAdmin, name: 'Megan Bowen' }
  await s.registry.connect({ tenantId: contoso.tenantId, orgUrl: contoso.url }, megan)
  await s.registry.markProvisioned(contoso.tenantId, megan)
  await checkTenantConnection(
    { registry: s.registry, clients: s.clients, verifyTables: ['accounts', 'contacts'] },
    contoso.tenantId,
    megan,
  )
}

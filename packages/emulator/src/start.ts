import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'
import type { Agent } from 'undici'
import { createAdminApi, type EmulatorAdmin } from './admin/admin.ts'
import { createDiscoveryApp } from './dataverse/discovery.ts'
import { createOrg, isSystemAdministrator, type OrgRuntime } from './dataverse/index.ts'
import { createEntraApp, createEntraState } from './entra/app.ts'
import { EmulatorError } from './errors.ts'
import { Counters, Faults } from './faults.ts'
import {
  createTrustingAgent,
  defaultCaBundle,
  loadOrCreateTls,
  type TlsMaterial,
  trustEmulatorGlobally,
} from './tls.ts'
import { defaultSeed } from './world/default-seed.ts'
import { SigningKeyRing } from './world/signing-keys.ts'
import type { AppRegistration, OrgInfo, Tenant, User, WorldSeed } from './world/types.ts'
import { applySeed, type OrgRecord, type World, type WorldSnapshot, WorldState } from './world/world.ts'

/** Options of {@link startEmulator}. */
export interface StartEmulatorOptions {
  /** Port of the Entra ID server (default 8443). `0` picks free ports for it and for every org. */
  port?: number
  /** First port for orgs that declare none (default `port + 1`; ignored when `port` is 0). */
  orgBasePort?: number
  /** Interface to listen on (default `127.0.0.1`; URLs always say `localhost`). */
  host?: string
  /**
   * Folder for the CA, the server certificate and (when `persist`) the world and every org's data. Without it,
   * everything lives in memory and a new CA is generated on each start.
   */
  stateDir?: string
  /** Save state to `stateDir` on every change and on stop, and load it on start (default: true when `stateDir` is set). */
  persist?: boolean
  /** The world to build: a seed object, or the path of a seed JSON file (default: the built-in sample world). */
  seed?: WorldSeed | string
  /** Seed of the fault injection generator (default 1). */
  faultSeed?: number
  /**
   * Lifetime of app-only access tokens in seconds (default 3599, as Entra ID). Short lifetimes let tests see a
   * client refresh its tokens; {@link EmulatorAdmin.setTokenLifetime} changes it while running.
   */
  tokenLifetimeSeconds?: number
}

/** How to make Node trust the emulator's HTTPS. */
export interface EmulatorTrust {
  /** An undici dispatcher trusting the emulator's CA plus the default roots. */
  agent: Agent
  /** Installs {@link EmulatorTrust.agent} as the global dispatcher (global `fetch`, msal-node); returns the undo. */
  installGlobally(): () => void
  /** The CA certificate file (in the state folder, or a temporary folder removed on stop). */
  caCertPath: string
  /** Default roots + the current `NODE_EXTRA_CA_CERTS` + the emulator's CA: point a child process's `NODE_EXTRA_CA_CERTS` here. */
  caBundlePath: string
  /** Human-readable instructions. */
  instructions: string
}

/** A running emulator. */
export interface EmulatorHandle {
  /** The Entra ID origin, e.g. `https://localhost:8443`; authorities are `${url}/${tenant}`. */
  url: string
  /** `localhost:PORT`, for MSAL's `knownAuthorities`. */
  authorityHost: string
  /** PEM of the CA that issued the emulator's server certificate. */
  caCertPem: string
  tenants: Tenant[]
  /** Orgs with their served URLs (`https://localhost:PORT`, the token audience and `{url}/.default` scope). */
  orgs: OrgInfo[]
  /** App registrations, with their credentials (secrets, certificates with private keys the emulator generated). */
  apps: AppRegistration[]
  users: User[]
  admin: EmulatorAdmin
  trust: EmulatorTrust
  /** The identity world (tenants, consent, keys, token minting). */
  world: World
  /** `${url}/${tenant}`: an MSAL authority. */
  authority(tenant: string): string
  /** MSAL `auth` options pointing at the emulator (authority, knownAuthorities). */
  msalAuth(tenant: string): { authority: string; knownAuthorities: string[] }
  /** The handle's data as JSON (what the CLI prints with `--json`); private keys and secrets included. */
  toJSON(): EmulatorInfo
  stop(): Promise<void>
}

/** The serialisable part of the handle. */
export interface EmulatorInfo {
  url: string
  authorityHost: string
  caCertPem: string
  caCertPath: string
  caBundlePath: string
  tenants: Tenant[]
  orgs: OrgInfo[]
  apps: AppRegistration[]
  users: User[]
}

interface RunningServer {
  server: Server
  port: number
}

async function listen(
  app: { fetch: (req: Request, env: never) => Response | Promise<Response> },
  tls: TlsMaterial,
  port: number,
  host: string,
): Promise<RunningServer> {
  const server = createServer(
    { key: tls.server.privateKeyPem, cert: tls.server.certificatePem },
    getRequestListener(app.fetch as Parameters<typeof getRequestListener>[0]),
  )
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new EmulatorError(
          'INVALID_ARGUMENT',
          err.code === 'EADDRINUSE'
            ? `Port ${port} is already in use; pick another or use port 0.`
            : `Could not listen on ${host}:${port}.`,
          { cause: err },
        ),
      ),
    )
    server.listen(port, host, () => resolve())
  })
  return { server, port: (server.address() as AddressInfo).port }
}

async function close(s: RunningServer): Promise<void> {
  await new Promise<void>((resolve) => {
    s.server.close(() => resolve())
    s.server.closeAllConnections()
  })
}

async function loadSeed(seed: WorldSeed | string | undefined): Promise<WorldSeed> {
  if (seed === undefined) return defaultSeed()
  if (typeof seed !== 'string') return seed
  let text: string
  try {
    text = await readFile(seed, 'utf8')
  } catch (cause) {
    throw new EmulatorError('NOT_FOUND', `The seed file ${seed} cannot be read.`, { cause })
  }
  try {
    return JSON.parse(text) as WorldSeed
  } catch (cause) {
    throw new EmulatorError('INVALID_ARGUMENT', `The seed file ${seed} is not valid JSON.`, { cause })
  }
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(value))
  await rename(tmp, file)
}

/**
 * Starts the emulator: a local Entra ID on `https://localhost:{port}` and one Dataverse org per origin.
 * @param options see {@link StartEmulatorOptions}; `{ port: 0 }` in tests.
 * @throws {EmulatorError} 'INVALID_ARGUMENT' (port in use, bad seed), 'NOT_FOUND' (seed file), 'TLS', 'STATE'.
 * @example
 * ```ts
 * import { ConfidentialClientApplication } from '@azure/msal-node'
 * const emulator = await startEmulator({ port: 0 })
 * const restore = emulator.trust.installGlobally()
 * const { multiTenantAppId, multiTenantAppSecret, contosoTenantId } = defaultIds
 * const cca = new ConfidentialClientApplication({
 *   auth: { clientId: multiTenantAppId, clientSecret: multiTenantAppSecret, ...emulator.msalAuth(contosoTenantId) },
 * })
 * const result = await cca.acquireTokenByClientCredential({ scopes: [`${emulator.orgs[0]?.url}/.default`] })
 * restore()
 * await emulator.stop()
 * ```
 */
export async function startEmulator(options: StartEmulatorOptions = {}): Promise<EmulatorHandle> {
  const host = options.host ?? '127.0.0.1'
  const requestedPort = options.port ?? 8443
  const random = requestedPort === 0
  const persist = options.stateDir !== undefined && options.persist !== false
  const stateDir = options.stateDir
  const worldFile = stateDir ? join(stateDir, 'world.json') : undefined
  const orgDir = stateDir ? join(stateDir, 'orgs') : undefined

  const [tls, seed] = await Promise.all([loadOrCreateTls(stateDir), loadSeed(options.seed)])
  // Without a state folder, the CA still goes to files (removed on stop) so child processes can trust it.
  let tempDir: string | undefined
  if (!tls.files) {
    tempDir = await mkdtemp(join(tmpdir(), 'dataverse-s2s-emulator-'))
    const caCert = join(tempDir, 'ca.pem')
    const caBundle = join(tempDir, 'ca-bundle.pem')
    await writeFile(caCert, tls.ca.certificatePem)
    await writeFile(caBundle, [...defaultCaBundle(), tls.ca.certificatePem].join('\n'))
    tls.files = { caCert, caBundle }
  }
  const files = tls.files

  // The world: restored from the state folder, or built from the seed.
  let world: World
  let restored = false
  if (persist && worldFile && existsSync(worldFile)) {
    try {
      world = await WorldState.fromSnapshot(JSON.parse(await readFile(worldFile, 'utf8')) as WorldSnapshot)
      restored = true
    } catch (cause) {
      throw new EmulatorError(
        'STATE',
        `The saved world in ${worldFile} cannot be loaded; delete it to start from the seed.`,
        {
          cause,
        },
      )
    }
  } else {
    world = new WorldState(await SigningKeyRing.create())
    await applySeed(world, seed)
  }

  const faults = new Faults(options.faultSeed ?? 1)
  const counters = new Counters()
  const entraState = createEntraState(validTokenLifetime(options.tokenLifetimeSeconds))
  const servers: RunningServer[] = []
  const orgServers = new Map<string, RunningServer>()
  const orgRuntimes = new Map<string, OrgRuntime>()

  // The Entra ID server (and the admin API under /_emulator/).
  const root = new Hono()
  const entra = createEntraApp({ world, faults, counters, state: entraState })
  let adminHttp: Hono | undefined
  const toAdmin = (c: import('hono').Context) => {
    if (!adminHttp) return c.json({ error: { code: 'STOPPED', message: 'The emulator is starting.' } }, 503)
    const url = new URL(c.req.url)
    url.pathname = url.pathname.slice('/_emulator'.length) || '/'
    return adminHttp.fetch(new Request(url, c.req.raw))
  }
  root.all('/_emulator', toAdmin)
  root.all('/_emulator/*', toAdmin)
  // The Global Discovery Service is served on the Entra ID origin (see dataverse/discovery.ts).
  root.route(
    '/',
    createDiscoveryApp(world, (orgId, objectId) => {
      const runtime = orgRuntimes.get(orgId)
      return runtime ? isSystemAdministrator(runtime, objectId) : false
    }),
  )
  root.route('/', entra)
  const entraServer = await listen(root, tls, requestedPort, host)
  servers.push(entraServer)
  world.authorityUrl = `https://localhost:${entraServer.port}`
  const basePort = options.orgBasePort ?? requestedPort + 1

  let stopped = false
  let saveTimer: NodeJS.Timeout | undefined
  let saving: Promise<void> = Promise.resolve()

  const orgSnapshotFile = (id: string) => join(orgDir!, `${id}.json`)

  async function saveNow(): Promise<void> {
    if (!persist || !worldFile || !orgDir) return
    const run = async () => {
      await mkdir(orgDir, { recursive: true })
      await writeJsonAtomic(worldFile, world.snapshot())
      for (const [id, rt] of orgRuntimes) await writeJsonAtomic(orgSnapshotFile(id), rt.snapshot())
    }
    saving = saving.then(run, run)
    await saving
  }

  function scheduleSave(): void {
    if (!persist || stopped) return
    clearTimeout(saveTimer)
    saveTimer = setTimeout(() => {
      saveNow().catch((err: unknown) =>
        console.error('[emulator] saving state failed:', err instanceof Error ? err.message : err),
      )
    }, 250)
  }

  let nextPort = basePort
  // Orgs restored from state keep their ports: a new org without a port must skip them (issue 13, item 11).
  function takeFreePort(): number {
    const used = new Set<number>()
    for (const o of world.orgs.values()) if (o.port !== undefined) used.add(o.port)
    while (used.has(nextPort)) nextPort++
    return nextPort++
  }
  async function serveOrg(org: OrgRecord): Promise<void> {
    if (orgServers.has(org.id)) return
    const wanted = random ? 0 : (org.port ?? takeFreePort())
    // Listen first (the org URL is the token audience, so the port must be known), then build the org.
    let handler: ((req: Request, env: never) => Response | Promise<Response>) | undefined
    const running = await listen(
      {
        fetch: (req, env) =>
          handler
            ? handler(req, env)
            : Response.json(
                { error: { code: '0x80040216', message: 'The organization is starting.' } },
                { status: 503 },
              ),
      },
      tls,
      wanted,
      host,
    )
    try {
      org.url = `https://localhost:${running.port}`
      if (!random && org.port === undefined) org.port = running.port
      let snapshot: unknown
      if (restored && orgDir && existsSync(orgSnapshotFile(org.id)))
        snapshot = JSON.parse(await readFile(orgSnapshotFile(org.id), 'utf8'))
      const runtime = createOrg({
        world,
        org,
        ...(org.dataverse === undefined ? {} : { seed: org.dataverse }),
        faults,
        counters,
        ...(snapshot === undefined ? {} : { snapshot }),
      })
      handler = runtime.app.fetch as typeof handler
      orgServers.set(org.id, running)
      orgRuntimes.set(org.id, runtime)
      servers.push(running)
    } catch (err) {
      await close(running)
      throw err
    }
  }

  try {
    for (const org of world.orgs.values()) await serveOrg(org)
  } catch (err) {
    await Promise.all(servers.map(close))
    if (tempDir) await rm(tempDir, { recursive: true, force: true })
    throw err
  }

  const initial = structuredClone(world.snapshot())
  const unsubscribe = world.onChange(scheduleSave)
  // Web API writes change org data without touching the world: save every 30 s while Dataverse traffic flows.
  let seenRequests = 0
  const periodic = persist
    ? setInterval(() => {
        const total = counters.read().totals.dataverseRequests
        if (total !== seenRequests) {
          seenRequests = total
          scheduleSave()
        }
      }, 30_000).unref()
    : undefined

  const admin = createAdminApi({
    world,
    faults,
    counters,
    entraState,
    orgRuntimes,
    serveOrg,
    async stopOrg(id: string) {
      const running = orgServers.get(id)
      if (!running) return
      orgServers.delete(id)
      orgRuntimes.delete(id)
      servers.splice(servers.indexOf(running), 1)
      await close(running)
    },
    initial,
    save: saveNow,
  })
  adminHttp = admin.http

  const trustInstructions = [
    `The emulator's HTTPS certificate is issued by its own CA (${files.caCert}).`,
    'In this process: emulator.trust.installGlobally() (global fetch and @azure/msal-node then trust it).',
    `Another Node process: NODE_EXTRA_CA_CERTS=${files.caBundle} (the default roots, the current NODE_EXTRA_CA_CERTS and the emulator CA in one file).`,
    'A browser: import the CA into its trust store, or run it with certificate errors ignored (tests).',
  ].join('\n')

  const agent = createTrustingAgent(tls.ca.certificatePem)
  const info = (): EmulatorInfo => ({
    url: world.authorityUrl,
    authorityHost: new URL(world.authorityUrl).host,
    caCertPem: tls.ca.certificatePem,
    caCertPath: files.caCert,
    caBundlePath: files.caBundle,
    tenants: [...world.tenants.values()],
    orgs: [...world.orgs.values()].map(({ id, uniqueName, tenantId, displayName, url }) => ({
      id,
      uniqueName,
      tenantId,
      displayName,
      url,
    })),
    apps: [...world.apps.values()],
    users: [...world.users.values()],
  })

  if (persist) await saveNow()

  const handle: EmulatorHandle = {
    get url() {
      return world.authorityUrl
    },
    get authorityHost() {
      return new URL(world.authorityUrl).host
    },
    caCertPem: tls.ca.certificatePem,
    get tenants() {
      return info().tenants
    },
    get orgs() {
      return info().orgs
    },
    get apps() {
      return info().apps
    },
    get users() {
      return info().users
    },
    admin: admin.api,
    world,
    trust: {
      agent,
      installGlobally: () => trustEmulatorGlobally(tls.ca.certificatePem),
      caCertPath: files.caCert,
      caBundlePath: files.caBundle,
      instructions: trustInstructions,
    },
    authority: (tenant: string) => `${world.authorityUrl}/${tenant}`,
    msalAuth: (tenant: string) => ({
      authority: `${world.authorityUrl}/${tenant}`,
      knownAuthorities: [new URL(world.authorityUrl).host],
    }),
    toJSON: info,
    async stop() {
      if (stopped) return
      stopped = true
      clearTimeout(saveTimer)
      clearInterval(periodic)
      unsubscribe()
      if (persist) await saveNow()
      await Promise.all(servers.map(close))
      await agent.close().catch(() => undefined)
      if (tempDir) await rm(tempDir, { recursive: true, force: true })
    },
  }
  return handle
}

function validTokenLifetime(seconds: number | undefined): number | undefined {
  if (seconds === undefined) return undefined
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400)
    throw new EmulatorError(
      'INVALID_ARGUMENT',
      `tokenLifetimeSeconds must be a whole number of seconds between 1 and 86400, not ${String(seconds)}.`,
    )
  return seconds
}

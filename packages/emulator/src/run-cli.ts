import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { runTrustCommand } from './cli-trust.ts'
import { EmulatorError } from './errors.ts'
import { startEmulator } from './start.ts'

const usage = `Usage: dataverse-s2s-emulator [options]
       dataverse-s2s-emulator trust|untrust [--state <dir>] [--nss-db <dir>] [--no-system]

A local Microsoft Entra ID + Dataverse Web API for developing and testing S2S apps offline.

Options:
  --port <n>        Entra ID port (default 8443; orgs from port+1 up). 0 picks free ports.
  --host <ip>       Interface to listen on (default 127.0.0.1).
  --state <dir>     State folder: CA, certificates, world and data (default ./.emulator).
  --no-persist      Keep the world in memory only (certificates still live in --state).
  --seed <file>     Seed JSON describing tenants, apps, users, consents and orgs (default: the sample world).
  --fault-seed <n>  Seed of the fault injection generator (default 1).
  --json            Print the emulator's data as one JSON line on stdout (then logs go to stderr).
  -h, --help        Show this help.
`

function fail(message: string): never {
  process.stderr.write(`dataverse-s2s-emulator: ${message}\n`)
  process.exit(2)
}

function int(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`${name} must be an integer between 0 and 65535.`)
  return n
}

/**
 * Runs the emulator's command line (`dataverse-s2s-emulator`, `pnpm emulator`, `dataverse-s2s emulator`) with `argv`
 * (the arguments after the command): starts the emulator and keeps it running until SIGINT or SIGTERM.
 */
async function runEmulatorCli(argv: string[]): Promise<void> {
  const command = argv.filter((a) => a !== '--')
  if (command[0] === 'trust' || command[0] === 'untrust') {
    process.stdout.write(`${runTrustCommand(command[0], command.slice(1)).join('\n')}\n`)
    return
  }
  let values: Record<string, string | boolean | undefined>
  try {
    // `pnpm emulator -- --port 0` passes the `--` through.
    const args = [...argv]
    if (args[0] === '--') args.shift()
    ;({ values } = parseArgs({
      args,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        state: { type: 'string' },
        'no-persist': { type: 'boolean' },
        seed: { type: 'string' },
        'fault-seed': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }))
  } catch (err) {
    fail(`${err instanceof Error ? err.message : String(err)}\n\n${usage}`)
  }
  if (values.help) {
    process.stdout.write(usage)
    return
  }
  const stateDir = resolve(typeof values.state === 'string' ? values.state : '.emulator')
  const emulator = await startEmulator({
    port: int(values.port as string | undefined, '--port', 8443),
    stateDir,
    persist: values['no-persist'] !== true,
    faultSeed: int(values['fault-seed'] as string | undefined, '--fault-seed', 1),
    ...(typeof values.host === 'string' ? { host: values.host } : {}),
    ...(typeof values.seed === 'string' ? { seed: resolve(values.seed) } : {}),
  })
  // Listen for signals before telling anyone where we are: a supervisor may stop us as soon as it reads the line.
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    emulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  const log = (line: string) => (values.json ? process.stderr : process.stdout).write(`${line}\n`)
  if (values.json) process.stdout.write(`${JSON.stringify(emulator.toJSON())}\n`)
  else {
    log(
      `Entra ID     ${emulator.url}   (MSAL: authority ${emulator.url}/<tenant>, knownAuthorities ["${emulator.authorityHost}"])`,
    )
    for (const t of emulator.tenants) {
      log(`Tenant       ${t.displayName.padEnd(12)} ${t.id}  ${t.domain}`)
      for (const o of emulator.orgs.filter((x) => x.tenantId === t.id))
        log(`  Org        ${o.uniqueName.padEnd(12)} ${o.url}`)
      for (const u of emulator.users.filter((x) => x.tenantId === t.id))
        log(`  User       ${u.userPrincipalName}${u.isTenantAdmin ? ' (admin)' : ''}`)
    }
    for (const a of emulator.apps) {
      log(`App          ${a.displayName} ${a.appId} (${a.signInAudience}, home ${a.homeTenantId})`)
      for (const s of a.secrets) log(`  Secret     ${s.value}`)
      for (const c of a.certificates) log(`  Certificate SHA-256 ${c.thumbprintSha256Hex}`)
    }
    log(`Admin API    ${emulator.url}/_emulator/`)
    log(`State        ${stateDir}`)
    log(emulator.trust.instructions)
    log('Press Ctrl+C to stop.')
  }
}

/**
 * As {@link runEmulatorCli}, with usage and start-up errors printed and the exit code set (for the launchers).
 * @example
 * // bin/my-emulator.js: the same command line as dataverse-s2s-emulator, e.g. `my-emulator --port 9443`
 * runEmulatorMain(process.argv.slice(2))
 */
export function runEmulatorMain(argv: string[]): void {
  runEmulatorCli(argv).catch((err: unknown) => {
    if (err instanceof EmulatorError) fail(`${err.message}`)
    fail(err instanceof Error ? (err.stack ?? err.message) : String(err))
  })
}

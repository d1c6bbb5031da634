import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { AppConfig } from './config.ts'
import { emulatorConfig, prepareEmulator } from './emulator-setup.ts'

export interface RunningEmulator {
  config: AppConfig
  stop(): Promise<void>
}

const INFO_FILE = 'single-tenant.json'

/**
 * Zero-configuration mode of the web app: starts the emulator in this process (Entra ID on `EMULATOR_PORT`,
 * default 8443; state kept in `EMULATOR_STATE_DIR`, default `.emulator`), prepares Contoso for this app, and
 * leaves a note in the state folder so `pnpm job` can use the same emulator while the app runs.
 */
export async function startEmulatorForApp(env: NodeJS.ProcessEnv, port: number): Promise<RunningEmulator> {
  const { startEmulator } = await import('@dataverse-s2s/emulator')
  const stateDir = resolve(env['EMULATOR_STATE_DIR'] ?? '.emulator')
  const handle = await startEmulator({ stateDir, port: Number(env['EMULATOR_PORT'] ?? 8443) })
  const world = await prepareEmulator(handle)
  const secrets = env['SESSION_SECRET']
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  const config = emulatorConfig(handle, world, {
    port,
    ...(env['PUBLIC_URL'] ? { publicUrl: env['PUBLIC_URL'].replace(/\/+$/, '') } : {}),
    ...(secrets?.length ? { sessionSecrets: secrets } : {}),
  })
  await mkdir(stateDir, { recursive: true })
  const info = join(stateDir, INFO_FILE)
  const { sessionSecrets: _omit, ...shared } = config
  await writeFile(info, JSON.stringify({ pid: process.pid, config: shared }), { mode: 0o600 })
  await chmod(info, 0o600)
  return {
    config,
    async stop() {
      await rm(info, { force: true })
      await handle.stop()
    },
  }
}

/**
 * Zero-configuration mode of the job: uses the emulator of a running `pnpm start` when there is one, otherwise
 * starts a temporary one in this process (its seed data only).
 */
export async function useEmulatorForJob(
  say: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningEmulator> {
  const stateDir = resolve(env['EMULATOR_STATE_DIR'] ?? '.emulator')
  try {
    const note = JSON.parse(await readFile(join(stateDir, INFO_FILE), 'utf8')) as {
      pid: number
      config: Omit<AppConfig, 'sessionSecrets'>
    }
    process.kill(note.pid, 0)
    say(`using the emulator of the running app (process ${note.pid})`)
    return { config: { ...note.config, sessionSecrets: [] }, stop: async () => {} }
  } catch {
    // No running app: fall through to a private emulator.
  }
  say('no running app found: starting a temporary emulator in this process (seed data only)')
  const { startEmulator } = await import('@dataverse-s2s/emulator')
  const handle = await startEmulator({ port: 0 })
  const world = await prepareEmulator(handle)
  return { config: emulatorConfig(handle, world, { port: 0 }), stop: () => handle.stop() }
}

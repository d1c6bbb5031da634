import { serve } from '@hono/node-server'
import { createApp } from './app.tsx'
import { createSignIn } from './auth.ts'
import { type AppConfig, ConfigError, loadConfig, loadEnvFile, wantsEmulator } from './config.ts'
import { createEnvironments } from './dataverse.ts'

async function main() {
  const envFile = loadEnvFile()
  if (envFile) console.log(`configuration: read ${envFile}`)
  const env = process.env
  const port = Number(env['PORT'] ?? 3001)
  let config: AppConfig
  let stopEmulator: (() => Promise<void>) | undefined
  if (wantsEmulator(env)) {
    const { startEmulatorForApp } = await import('./emulator-runtime.ts')
    const emulator = await startEmulatorForApp(env, port)
    config = emulator.config
    stopEmulator = emulator.stop
    console.log(
      `emulator: Entra ID at ${config.authorityHost}; environments ${config.environments.map((e) => `${e.name}=${e.url}`).join(', ')}`,
    )
    console.log('emulator: sign in as alice@contoso.onmicrosoft.com (Contoso); fabrikam users are refused')
  } else {
    config = loadConfig(env)
  }
  const app = createApp({
    config,
    signIn: createSignIn(config),
    environments: createEnvironments(config),
    organization: env['ORGANIZATION_NAME'] ?? (stopEmulator ? 'Contoso' : 'your organization'),
  })
  const server = serve(
    { fetch: app.fetch, port: config.port, hostname: env['HOST'] ?? 'localhost' },
    (info) => {
      console.log(`single-tenant app on ${config.publicUrl} (listening on ${info.address}:${info.port})`)
    },
  )
  const shutdown = () => {
    server.close()
    void stopEmulator?.().finally(() => process.exit(0))
    if (!stopEmulator) process.exit(0)
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? `configuration: ${error.message}` : error)
  process.exitCode = 1
})

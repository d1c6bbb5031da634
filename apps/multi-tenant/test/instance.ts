// One instance of the multi-tenant API for the scale-out test: on a shared emulator (EMULATOR_URL, EMULATOR_CA),
// with REDIS_URL, TOKEN_CACHE_KEYS, DATABASE_URL and STATE_SECRET from the environment. Prints its URL as JSON.
import { defaultIds } from '@dataverse-s2s/emulator'
import { startApp } from '../src/server/bootstrap.ts'
import { emulatorCloud } from '../src/server/services.ts'

const env = process.env as Record<string, string>
const running = await startApp({
  config: { port: 0, publicUrl: env.PUBLIC_URL as string, dataDir: '/tmp/multi-tenant-scale-out' },
  identity: {
    clientId: defaultIds.multiTenantAppId,
    credential: { secret: defaultIds.multiTenantAppSecret },
    cloud: emulatorCloud(env.EMULATOR_URL as string),
    ca: env.EMULATOR_CA as string,
  },
  quiet: true,
})
const port = running.port
process.stdout.write(`${JSON.stringify({ port })}\n`)
process.once('SIGTERM', async () => {
  await running.stop()
  process.exit(0)
})

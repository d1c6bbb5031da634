import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startApp } from './bootstrap.ts'

const dist = fileURLToPath(new URL('../../dist', import.meta.url))
if (!existsSync(dist)) {
  console.error(
    'The SPA is not built yet: run `pnpm --filter multi-tenant build` (or `pnpm start` at the root).',
  )
}
let running: Awaited<ReturnType<typeof startApp>>
try {
  running = await startApp({ staticRoot: dist, quiet: process.env.LOG_REQUESTS !== 'true' })
} catch (error) {
  // e.g. a port in use (another `pnpm start` or `pnpm emulator`): say so without a stack trace
  console.error(`The sample could not start: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}
const lines = [
  '',
  `  Multi-tenant sample: ${running.url}`,
  '',
  running.emulator
    ? [
        `  Emulator: Entra ID ${running.emulator.url}; orgs ${running.emulator.orgs.map((o) => `${o.displayName} ${o.url}`).join(', ')}`,
        '  Your browser must accept the emulator’s certificate once: open',
        `  ${running.emulator.url}/common/v2.0/.well-known/openid-configuration and choose "Proceed",`,
        `  or trust its CA: ${running.emulator.trust.caCertPath ?? '(in memory)'}`,
        '  Sign in as admin@fabrikam.onmicrosoft.com to connect Fabrikam, or alice@contoso.onmicrosoft.com to use Contoso.',
      ].join('\n')
    : running.services.cloud.custom
      ? `  Using Entra ID at ${running.services.cloud.authorityHost} (ENTRA_AUTHORITY_HOST, a stand-in for testing).`
      : '  Using Microsoft Entra ID.',
  '',
]
console.log(lines.join('\n'))
const stop = async () => {
  await running.stop()
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)

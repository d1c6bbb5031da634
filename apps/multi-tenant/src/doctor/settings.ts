import { type AppConfig, loadConfig } from '../server/config.ts'
import type { CheckResult } from './report.ts'

/** Step 1: the settings parse (the server's own `loadConfig`) and name a real app registration. */
export function checkSettings(
  env: NodeJS.ProcessEnv,
  cwd: string,
): { result: CheckResult; config?: AppConfig & { entra: NonNullable<AppConfig['entra']> } } {
  const step = 'settings'
  let config: AppConfig
  try {
    config = loadConfig(env, cwd)
  } catch (error) {
    return {
      result: {
        step,
        status: 'fail',
        detail: 'the settings do not parse',
        fix: error instanceof Error ? error.message : String(error),
      },
    }
  }
  if (!config.entra) {
    return {
      result: {
        step,
        status: 'fail',
        detail: 'no app registration is configured: the sample would start the embedded emulator',
        fix: 'set ENTRA_CLIENT_ID (the application (client) id) and ENTRA_CLIENT_SECRET or ENTRA_CERTIFICATE_PATH in apps/multi-tenant/.env (see .env.example)',
      },
    }
  }
  const entra = config.entra
  const where = entra.authorityHost ? `stand-in authority ${entra.authorityHost}` : `cloud ${entra.cloud}`
  return {
    result: {
      step,
      status: 'ok',
      detail: `app ${entra.clientId}, ${entra.certificatePem ? 'certificate' : 'client secret'}, ${where}`,
    },
    config: { ...config, entra },
  }
}

import { runDoctor } from './doctor.ts'

// `pnpm --filter multi-tenant run doctor`: checks apps/multi-tenant/.env (or the environment) against the real services.
const { report, exitCode } = await runDoctor()
console.log(report)
process.exit(exitCode)

import { ConfigError, loadConfig, loadEnvFile, wantsEmulator } from '../config.ts'
import { createEnvironments } from '../dataverse.ts'
import { parseJobArgs, UsageError, usage } from './options.ts'
import { ReportError } from './report.ts'
import { type JobLog, runJob } from './run.ts'
import { runOnSchedule } from './schedule.ts'

const log: JobLog = {
  progress: (line) => process.stderr.write(`${line}\n`),
  info: (line) => process.stderr.write(`${line}\n`),
  warn: (line) => process.stderr.write(`warning: ${line}\n`),
}

async function main(): Promise<number> {
  loadEnvFile()
  let options: ReturnType<typeof parseJobArgs>
  try {
    options = parseJobArgs(process.argv.slice(2))
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${usage}\n`)
      return 2
    }
    throw error
  }
  if (options === 'help') {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  const job = options
  if (job.quiet) log.progress = () => {}

  let stopEmulator: (() => Promise<void>) | undefined
  let config: ReturnType<typeof loadConfig>
  if (wantsEmulator(process.env)) {
    const { useEmulatorForJob } = await import('../emulator-runtime.ts')
    const started = await useEmulatorForJob(log.info)
    config = started.config
    stopEmulator = started.stop
  } else {
    config = loadConfig(process.env, { purpose: 'job' })
  }

  const environment = job.environment ?? config.environments[0]!.name
  const environments = createEnvironments(config, { userAgent: 'dataverse-s2s-single-tenant-job' })
  const client = environments.client(environment)
  if (!client) {
    process.stderr.write(
      `Unknown environment "${environment}"; DATAVERSE_ENVIRONMENTS lists ${config.environments.map((e) => e.name).join(', ')}.\n`,
    )
    return 2
  }

  const controller = new AbortController()
  const stop = (signal: string) => {
    log.info(`${signal}: stopping after the current write; the next run resumes from the checkpoint`)
    controller.abort(new Error(signal))
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))

  try {
    log.info(`report: ${job.table} from ${environment} (${client.url}) to ${job.output}`)
    return await runOnSchedule(() => runJob(client, job, log, controller.signal), {
      everyMs: job.everyMs,
      signal: controller.signal,
      isStop: (error) => error instanceof ReportError && error.code === 'ABORTED',
      onError: (error) =>
        log.warn(`run failed: ${describe(error)}; the next run resumes from its checkpoint`),
      onWait: (next) => log.info(`next run at ${next.toISOString()}`),
    })
  } finally {
    await stopEmulator?.()
  }
}

function describe(error: unknown): string {
  if (error instanceof ConfigError || error instanceof ReportError) return error.message
  if (error instanceof Error) return `${error.name}: ${error.message}`
  return String(error)
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error) => {
    process.stderr.write(`error: ${describe(error)}\n`)
    process.exitCode = 1
  },
)

import { Command, CommanderError, Option } from 'commander'
import { registerAccess } from './commands/access.ts'
import { registerExport } from './commands/export.ts'
import { registerIdentity } from './commands/identity.ts'
import { registerImport } from './commands/import.ts'
import { registerMisc } from './commands/misc.ts'
import { registerQuery } from './commands/query.ts'
import type { Context } from './context.ts'
import { CliError, isCliError } from './errors.ts'
import { explain } from './explain.ts'
import { colours, type Io } from './output.ts'

const SECRET_VARS = ['DATAVERSE_CLIENT_SECRET', 'DATAVERSE_CERTIFICATE_PASSPHRASE']

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** Streams and environment. Default: the process's. */
  io?: Io
  /** Stops the command (Ctrl-C). Default: SIGINT of this process. */
  signal?: AbortSignal
}

function withGlobals(command: Command): Command {
  return command
    .option('--org <url>', 'Org URL, e.g. https://contoso.crm.dynamics.com')
    .option(
      '--profile <name>',
      'Profile of the config file (default: $DATAVERSE_PROFILE, else the DATAVERSE_* variables)',
    )
    .option(
      '--config <file>',
      'Config file (default: $DATAVERSE_S2S_CONFIG or ~/.config/dataverse-s2s/config.json)',
    )
    .option(
      '--tenant <id>',
      'Tenant id or domain (default: DATAVERSE_TENANT_ID, else discovered from the org)',
    )
    .addOption(new Option('--cloud <name>', 'Cloud of the org (default: recognised from the org URL)'))
    .option(
      '--authority-host <url>',
      "A custom cloud's Entra ID origin, e.g. the emulator's https://localhost:8443",
    )
    .option('--ca <file>', "Also trust this CA certificate (PEM), e.g. the emulator's")
    .option('--json', 'Print JSON for scripts')
}

/** Replaces any secret of the environment that a message might contain (defence in depth: none should). */
function redact(text: string, env: NodeJS.ProcessEnv): string {
  let out = text
  for (const name of SECRET_VARS) {
    const secret = env[name]?.trim()
    if (secret && secret.length >= 4) out = out.split(secret).join('***')
  }
  return out
}

/**
 * Runs the `dataverse-s2s` command line with `argv` (the arguments after the program name) and resolves with the
 * exit code: 0 done, 1 failed, 2 bad usage, 3 `check` or `provision` found access missing, 130 interrupted.
 * @example
 * process.exitCode = await runCli(process.argv.slice(2))
 */
export async function runCli(argv: readonly string[], options: RunCliOptions = {}): Promise<number> {
  const io: Io = options.io ?? { stdout: process.stdout, stderr: process.stderr, env: process.env }
  const controller = new AbortController()
  let interrupts = 0
  const onSigint = () => {
    interrupts++
    if (interrupts > 1) process.exit(130)
    controller.abort(new CliError('INTERRUPTED', 'Interrupted (Ctrl-C).'))
  }
  if (options.signal)
    options.signal.addEventListener('abort', () => controller.abort(options.signal?.reason), { once: true })
  else process.on('SIGINT', onSigint)
  const ctx: Context = { io, signal: controller.signal }
  const program = new Command('dataverse-s2s')
    .description(
      'Tokens, consent, access checks, provisioning, queries, exports and imports for Dataverse S2S apps',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showSuggestionAfterError(true)
  registerIdentity(program, ctx, withGlobals)
  registerAccess(program, ctx, withGlobals)
  registerQuery(program, ctx, withGlobals)
  registerExport(program, ctx, withGlobals)
  registerImport(program, ctx, withGlobals)
  registerMisc(program, ctx)
  const wantsJson = argv.includes('--json')
  try {
    await program.parseAsync(argv as string[], { from: 'user' })
    if (ctx.exitCode === -1) return -1
    return ctx.exitCode ?? 0
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return 0
      return 2
    }
    const failure = controller.signal.aborted && !isCliError(err) ? controller.signal.reason : err
    const { code, cause, fix } = explain(failure)
    const exit = code === 'USAGE' ? 2 : code === 'INTERRUPTED' ? 130 : 1
    if (wantsJson) io.stdout.write(`${redact(JSON.stringify({ error: { code, cause, fix } }), io.env)}\n`)
    const c = colours(io)
    io.stderr.write(redact(`${c.bad('error')} [${code}] ${cause}\n${c.dim('fix:')} ${fix}\n`, io.env))
    return exit
  } finally {
    process.off('SIGINT', onSigint)
  }
}

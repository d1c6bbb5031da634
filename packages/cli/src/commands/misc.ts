import type { Command } from 'commander'
import { configPath, readProfiles } from '../config.ts'
import type { Context } from '../context.ts'
import { printJson } from '../output.ts'

export function registerMisc(program: Command, ctx: Context): void {
  program
    .command('emulator')
    .description(
      'Start the local Entra ID + Dataverse emulator (the flags of pnpm emulator; --help lists them)',
    )
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .argument(
      '[flags...]',
      'Flags of the emulator: --port, --host, --state, --no-persist, --seed, --fault-seed, --json',
    )
    .action(async (flags: string[]) => {
      ctx.exitCode = -1 // runs until SIGINT/SIGTERM: the emulator exits by itself
      // loaded on demand: the other commands start faster without the emulator's servers
      const { runEmulatorMain } = await import('@dataverse-s2s/emulator')
      runEmulatorMain(flags)
    })

  program
    .command('profiles')
    .description('List the profiles of the config file (secrets are never shown)')
    .option(
      '--config <file>',
      'Config file (default: $DATAVERSE_S2S_CONFIG or ~/.config/dataverse-s2s/config.json)',
    )
    .option('--json', 'Print JSON')
    .action(async (opts: { config?: string; json?: boolean }) => {
      const path = configPath(opts.config, ctx.io.env)
      const profiles = await readProfiles(path)
      const rows = Object.entries(profiles).map(([name, p]) => ({
        name,
        clientId: p.clientId ?? null,
        tenantId: p.tenantId ?? null,
        org: p.org ?? null,
        credential: p.clientSecret
          ? 'secret (set)'
          : p.certificatePath
            ? `certificate ${p.certificatePath}`
            : 'from the environment',
      }))
      if (opts.json) return printJson(ctx.io, { config: path, profiles: rows })
      ctx.io.stdout.write(`Config: ${path}\n`)
      for (const r of rows)
        ctx.io.stdout.write(
          `${r.name}: client ${r.clientId ?? '-'}, tenant ${r.tenantId ?? '-'}, org ${r.org ?? '-'}, ${r.credential}\n`,
        )
      if (rows.length === 0) ctx.io.stdout.write('No profiles.\n')
    })
}

#!/usr/bin/env node
import { runCli } from './program.ts'

runCli(process.argv.slice(2)).then((code) => {
  // -1: a command that keeps running (the emulator) and exits by itself
  if (code >= 0) process.exitCode = code
})

#!/usr/bin/env node
import { runEmulatorMain } from './run-cli.ts'

runEmulatorMain(process.argv.slice(2))

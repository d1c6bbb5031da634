#!/usr/bin/env node
// A checked-in launcher, so the bin exists before the package is built (pnpm links bins at install time).
import '../dist/cli.js'

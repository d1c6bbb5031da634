// Bun and Deno: the settings as JSON in the first argument, the result as JSON on stdout.
import { runProgram } from './program.mjs'

const settings = JSON.parse(globalThis.Deno ? globalThis.Deno.args[0] : process.argv[2])
console.log(JSON.stringify(await runProgram(settings)))

// workerd: the settings as JSON in the request body, the result as JSON in the response.
import { runProgram } from './program.mjs'

export default {
  async fetch(request) {
    try {
      return Response.json(await runProgram(await request.json()))
    } catch (error) {
      return Response.json({ error: String(error), cause: String(error?.cause ?? '') }, { status: 500 })
    }
  },
}

import type { GetToken } from '../src/types.ts'

/**
 * Wraps a test's getToken so that it refuses after `max` calls. The client asks for a token once per attempt and
 * never retries a TOKEN error, so a broken retry bound ends the test in milliseconds with that error, instead of
 * retrying until the runner's timeout.
 */
export function bounded(getToken: GetToken, max = 200): GetToken {
  let calls = 0
  return (resource, options) => {
    if (++calls > max) throw new Error(`runaway: more than ${max} attempts; a retry bound is broken`)
    return getToken(resource, options)
  }
}

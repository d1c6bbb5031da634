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

// Captured at load, before a test installs fake timers: a deadline has to run on real time to end a test whose fake
// (or virtual) clock never wakes the request it waits for.
const realSetTimeout = globalThis.setTimeout
const realClearTimeout = globalThis.clearTimeout

/**
 * Waits for `promise`, but fails with a clear error after `ms` of real time. A test awaiting a request that a broken
 * wake-up (a pause that never ends, a queue that is never drained) leaves pending fails here, on its own assertion,
 * well before the runner's timeout.
 */
export function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = realSetTimeout(
      () =>
        reject(new Error(`runaway: ${what} did not settle within ${ms} ms; a wake-up or a bound is broken`)),
      ms,
    )
  })
  return Promise.race([promise, deadline]).finally(() => realClearTimeout(timer))
}

/**
 * The same object, with every promise it (or an object it returns: a child client, a batch, an iterator) hands out
 * bounded by `within`. Tests take their clients through this, so a request left pending by a broken guard fails the
 * test with the name of the call instead of holding it until the runner's timeout.
 */
export function guarded<T extends object>(target: T, ms = 10_000, name = 'client'): T {
  // The proxy stands over a blank object: clients are frozen, and a proxy of a frozen object must return its own
  // functions unchanged.
  return new Proxy(Object.create(Object.getPrototypeOf(target)) as T, {
    get(_, property) {
      const value: unknown = Reflect.get(target, property)
      if (typeof value !== 'function') return value
      const what = `${name}.${String(property)}()`
      return (...args: unknown[]) => bound(Reflect.apply(value, target, args), what, ms)
    },
    set: (_, property, value) => Reflect.set(target, property, value),
    has: (_, property) => Reflect.has(target, property),
  })
}

function bound(result: unknown, what: string, ms: number): unknown {
  if (result instanceof Promise) return within(result, what, ms)
  if (typeof result === 'object' && result !== null && hasMethods(result)) return guarded(result, ms, what)
  return result // plain data stays as it is, so tests compare it as such
}

function hasMethods(value: object): boolean {
  if (Symbol.asyncIterator in value) return true
  for (const key in value) if (typeof (value as Record<string, unknown>)[key] === 'function') return true
  return false
}

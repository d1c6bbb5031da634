import { Agent, type Dispatcher } from 'undici'
import {
  fetchTransport,
  type HttpResponse,
  type HttpTransport,
  type TransportOptions,
} from '../internal/http.ts'

// One keep-alive Agent per distinct TLS trust, shared by every client that does not inject its own:
// cloning clients must not multiply sockets (DVSC #425).
const agents = new Map<string, Agent>()

function agentFor(ca: readonly string[] | undefined, connections: number): Agent {
  const key = `${connections}\n${ca ? ca.join('\n') : ''}`
  let agent = agents.get(key)
  if (!agent) {
    agent = new Agent({
      connections,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      ...(ca ? { connect: { ca: [...ca] } } : {}),
    })
    agents.set(key, agent)
  }
  return agent
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value
}

/** Node: undici's `request()` over a keep-alive Agent (much cheaper per request than `fetch`). */
export function createTransport(options: TransportOptions): HttpTransport {
  if (options.fetch) return fetchTransport(options.fetch)
  const ca = options.ca === undefined ? undefined : typeof options.ca === 'string' ? [options.ca] : options.ca
  const dispatcher = (options.dispatcher as Dispatcher | undefined) ?? agentFor(ca, options.connections ?? 64)
  return async (request): Promise<HttpResponse> => {
    const response = await dispatcher.request({
      origin: request.origin,
      path: request.path,
      method: request.method as Dispatcher.HttpMethod,
      headers: request.headers,
      body: request.body ?? null,
      signal: request.signal ?? null,
    })
    const headers = response.headers
    return {
      status: response.statusCode,
      header: (name) => single(headers[name]),
      text: () => response.body.text(),
      discard: () => response.body.dump(),
    }
  }
}

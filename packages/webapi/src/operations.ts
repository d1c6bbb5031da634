import type { DataverseClient } from './client-types.ts'
import { formatLiteral, isODataExpression, type ODataValue } from './filter.ts'
import { callHeaders, common, jsonHeaders, parseJson, type Scope } from './internal/core.ts'
import { checkName, checkQualifiedName, encodeQueryValue, recordPath } from './internal/paths.ts'
import type { BoundTo, OperationOptions } from './types.ts'

type OperationMethods = Pick<DataverseClient, 'whoAmI' | 'callFunction' | 'callAction' | 'request'>

/** WhoAmI, functions, actions and the raw `request()` escape hatch. */
export function operationMethods(scope: Scope): OperationMethods {
  const { core, headersFor, impersonate } = scope
  return {
    async whoAmI(options) {
      const result = await core.send({
        method: 'GET',
        path: 'WhoAmI',
        headers: headersFor(options),
        idempotent: true,
        ...common(options),
      })
      const body = parseJson<Record<string, string>>(result, 'GET', 'WhoAmI')
      return {
        userId: body.UserId as string,
        businessUnitId: body.BusinessUnitId as string,
        organizationId: body.OrganizationId as string,
      }
    },

    async callFunction<T>(
      name: string,
      parameters?: Readonly<Record<string, unknown>>,
      options?: OperationOptions,
    ) {
      const fn = operationPath(name, options?.boundTo)
      const entries = Object.entries(parameters ?? {})
      const aliases = entries.map(([p], i) => `${checkName(p, 'Parameter')}=@p${i + 1}`).join(',')
      const query = entries.length
        ? `?${entries.map(([, v], i) => `@p${i + 1}=${encodeQueryValue(formatParameter(v), `Parameter ${entries[i]?.[0]}`)}`).join('&')}`
        : ''
      const path = `${fn}(${aliases})`
      const result = await core.send({
        method: 'GET',
        path,
        query,
        headers: headersFor(options),
        idempotent: true,
        ...common(options),
      })
      return parseJson<T>(result, 'GET', path)
    },

    async callAction<T>(
      name: string,
      body?: Readonly<Record<string, unknown>>,
      options?: OperationOptions & { retryable?: boolean },
    ) {
      const path = operationPath(name, options?.boundTo)
      const result = await core.send({
        method: 'POST',
        path,
        headers: headersFor(options, jsonHeaders),
        body: JSON.stringify(body ?? {}),
        idempotent: options?.retryable ?? false,
        ...common(options),
      })
      return result.text ? parseJson<T>(result, 'POST', path) : undefined
    },
    async request<T>(spec: Parameters<DataverseClient['request']>[0]) {
      const result = await core.send({
        method: spec.method,
        path: spec.path,
        query: spec.query ?? '',
        headers: callHeaders(
          impersonate,
          { headers: spec.headers },
          spec.body === undefined ? {} : jsonHeaders,
        ),
        body:
          spec.body === undefined
            ? undefined
            : typeof spec.body === 'string'
              ? spec.body
              : JSON.stringify(spec.body),
        idempotent: spec.idempotent ?? spec.method !== 'POST',
        signal: spec.signal,
        timeoutMs: spec.timeoutMs,
      })
      let body: T | undefined
      if (result.text) {
        try {
          body = JSON.parse(result.text) as T
        } catch {
          body = result.text as T
        }
      }
      return { status: result.status, header: result.header, body }
    },
  } as OperationMethods
}

function formatParameter(value: unknown): string {
  // An odata`…` expression is the alias value as written, e.g. an enum member
  // (Microsoft.Dynamics.CRM.TargetFieldType'ValidForCreate', Microsoft Learn: Create a table row, InitializeFrom).
  if (isODataExpression(value)) return value.toString()
  if (
    value !== null &&
    typeof value === 'object' &&
    !(value instanceof Date) &&
    !Array.isArray(value) &&
    !('guid' in value)
  ) {
    // Complex and entity parameters travel as JSON inside the alias value.
    return JSON.stringify(value)
  }
  return formatLiteral(value as ODataValue)
}

function operationPath(name: string, boundTo: BoundTo | undefined): string {
  if (!boundTo) return checkQualifiedName(name, 'Operation')
  const qualified = name.includes('.')
    ? checkQualifiedName(name, 'Operation')
    : `Microsoft.Dynamics.CRM.${checkName(name, 'Operation')}`
  const target =
    boundTo.key === undefined
      ? checkName(boundTo.entitySet, 'Entity set')
      : recordPath(boundTo.entitySet, boundTo.key)
  return `${target}/${qualified}`
}

export interface ReferenceSymbol {
  package: string
  specifier: string
  name: string
  kind: string
  /** The page under docs/reference/api/, e.g. `hono/pglite/functions/openPgliteTenantRegistry.md`. */
  path: string
  summary: string
}
export declare const manifestFile: string
export declare function generateReference(): Promise<{ packages: string[]; pages: number }>

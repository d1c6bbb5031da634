/**
 * What went wrong:
 * - `INVALID_XML`: the document is not well-formed XML (the message gives the line and column);
 * - `INVALID_CSDL`: well-formed, but not an OData CSDL document Dataverse would serve (no `Edmx`, no `Schema`,
 *   an element without a required attribute);
 * - `UNKNOWN_TABLE`: a table asked for is not in the metadata, or has no entity set;
 * - `NO_TABLES`: the selection matched no table;
 * - `NAME_CONFLICT`: two selected tables would get the same TypeScript name;
 * - `INVALID_OPTIONS`: a bad argument (e.g. an empty prefix);
 * - `FETCH_FAILED`: the CLI could not download `$metadata`.
 */
export type CodegenErrorCode =
  | 'INVALID_XML'
  | 'INVALID_CSDL'
  | 'UNKNOWN_TABLE'
  | 'NO_TABLES'
  | 'NAME_CONFLICT'
  | 'INVALID_OPTIONS'
  | 'FETCH_FAILED'

/**
 * The one error class of @dataverse-s2s/codegen; `switch (err.code)` narrows.
 * @example
 * try {
 *   generate(parseMetadata(xml), { tables: ['account', 'new_project'] })
 * } catch (error) {
 *   if (error instanceof CodegenError && error.code === 'UNKNOWN_TABLE') console.error(error.message) // names the table
 *   throw error
 * }
 */
export class CodegenError extends Error {
  override name = 'CodegenError'
  constructor(
    readonly code: CodegenErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/**
 * True for a {@link CodegenError}, also one from another copy of this package.
 * @example
 * try {
 *   parseMetadata(xml)
 * } catch (error) {
 *   if (isCodegenError(error)) console.error(`${error.code}: ${error.message}`)
 *   else throw error
 * }
 */
export function isCodegenError(value: unknown): value is CodegenError {
  return (
    value instanceof Error &&
    value.name === 'CodegenError' &&
    typeof (value as CodegenError).code === 'string'
  )
}

/** A Dataverse row as JSON. */
export type Row = Record<string, unknown>

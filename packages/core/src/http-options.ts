/** How this package reaches Entra ID and Dataverse over HTTPS. */
export interface HttpOptions {
  /**
   * Extra certificate authorities (PEM) to trust besides Node's defaults, e.g. the emulator's CA. Default: none.
   */
  ca?: string | readonly string[]
  /** Time limit of one HTTP request in milliseconds (default 10,000). */
  timeoutMs?: number
}

import type { CallOptions } from './types.ts'

/** A file's content: bytes, or a `Blob` (a `File` in browsers), read one chunk at a time. */
export type FileData = Uint8Array | ArrayBuffer | Blob

/** Options of {@link DataverseClient.uploadFile}. */
export interface UploadFileOptions extends CallOptions {
  /** The file name Dataverse stores in `<column>_name` (and derives the download's `mimetype` from). */
  fileName: string
  /**
   * Upload in chunks even below 128 MB. Default: chunked only from 128 MB (Learn: a single request takes a file
   * "less than 128 MB"), or when the name is not ASCII (only the chunked form's query parameter carries such a name).
   */
  chunked?: boolean | undefined
}

/** Options of {@link DataverseClient.downloadFile}. */
export interface DownloadFileOptions extends CallOptions {
  /**
   * `false` reads the file in one request without `Range` (Learn, File columns: up to 16 MB). Default: 4 MB ranges
   * (`Range: bytes=0-4194303`, ...) until `x-ms-file-size` bytes have arrived.
   */
  chunked?: boolean | undefined
}

/** A downloaded file: its bytes, name, size and MIME type. */
export interface DownloadFileResult {
  /** The file's bytes. */
  data: Uint8Array
  /** `x-ms-file-name`. */
  fileName: string
  /** `x-ms-file-size`, in bytes. */
  fileSize: number
  /** `mimetype`, when Dataverse sent it. */
  mimeType: string | undefined
}

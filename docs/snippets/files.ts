import { type DataverseClient, isDataverseError } from '@dataverse-s2s/webapi'

export async function uploadAndDownload(client: DataverseClient, id: string, pdf: Uint8Array) {
  // #region upload
  // One PATCH below 128 MB; above it (or with chunked: true) a chunked upload in the chunk size Dataverse answers.
  await client.uploadFile('new_documents', id, 'new_file', pdf, { fileName: 'contract.pdf' })

  // The row reads the file's id and name like any other column.
  const row = await client.retrieve<{ new_file: string | null; new_file_name: string | null }>(
    'new_documents',
    id,
    {
      select: ['new_file', 'new_file_name'],
    },
  )
  console.log(row.new_file_name) // contract.pdf
  // #endregion upload

  // #region download
  const file = await client.downloadFile('new_documents', id, 'new_file')
  console.log(file.fileName, file.fileSize, file.mimeType) // contract.pdf 5242880 application/pdf
  // file.data is a Uint8Array: new Blob([file.data]) in a browser, or write it to disk in Node
  // #endregion download
  return { row, file }
}

export async function tooLargeOrMissing(client: DataverseClient, id: string, data: Uint8Array) {
  // #region errors
  try {
    await client.uploadFile('new_documents', id, 'new_file', data, { fileName: 'huge.bin' })
  } catch (error) {
    // 0x80044a02: the file is larger than the column's Maximum file size (MaxSizeInKB)
    if (isDataverseError(error) && error.serviceCode === '0x80044a02') return 'too large'
    throw error
  }
  await client.deleteFile('new_documents', id, 'new_file')
  try {
    await client.downloadFile('new_documents', id, 'new_file')
  } catch (error) {
    if (isDataverseError(error) && error.code === 'NOT_FOUND') return 'no file'
    throw error
  }
  // #endregion errors
  return 'stored'
}

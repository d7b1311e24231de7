// Moving a function with its data between cells: the data transfer (tar stream, size and sha256 checked before anything is
// replaced), in-stream or over a one-shot TLS-PSK bulk side path offered by the receiver.
export { sendDir, receiveDir, sendRaw, receiveRaw, readTrailer } from './transfer.ts'
export type { TransferSummary } from './transfer.ts'
export { FRAME, readFrames, writeFrame, jsonFrame, encodeFrame, drained } from './frames.ts'
export { migrateError } from './errors.ts'
export { openBulkServer, connectBulk, parseOffer } from './bulk.ts'
export type { BulkOffer, BulkServer } from './bulk.ts'
export { sendOffered, receiveOffered } from './negotiate.ts'
export type { BulkHost, DataPath, SendOptions } from './negotiate.ts'

// Moving a function with its data between cells: the data transfer (tar stream, size and sha256 checked before anything is
// replaced), in-stream or over a one-shot TLS-PSK bulk side path offered by the receiver.
export { sendDir, receiveDir } from './transfer.ts'
export type { TransferSummary } from './transfer.ts'
export { FRAME, readFrames, writeJson, jsonFrame } from './frames.ts'
export { migrateError } from './errors.ts'
export type { BulkOffer } from './bulk.ts'
export { sendOffered, receiveOffered } from './negotiate.ts'
export type { BulkHost, DataPath, SendOptions } from './negotiate.ts'

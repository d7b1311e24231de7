// Moving a function with its data between cells: the data transfer (tar stream, size and sha256 checked before anything is replaced).
export { sendDir, receiveDir } from './transfer.ts'
export type { TransferSummary } from './transfer.ts'
export { FRAME, readFrames, writeFrame, jsonFrame, encodeFrame, drained } from './frames.ts'
export { migrateError } from './errors.ts'

// Moving a function with its data between cells: the move protocol (through ports: placements, the function host, the
// link, the data path), and the real data path (tar stream, size and sha256 checked before anything is replaced),
// in-stream or over a one-shot TLS-PSK bulk side path offered by the receiver.
//
//   const mover = createMover({ placements: organism, host: supervisor, link: node, data: tarDataMover(bulk), clock, functions, protocols })
//   await mover.start(); await mover.move('forum', 'beta')
export { createMover } from './move.ts'
export type { Mover, MoveResult } from './move.ts'
export type { MoverPorts, MovePlacements, FunctionHost, MoveLink, DataMover, DataPath, Sent, Signed, AuthorizeOverride } from './ports.ts'
export { tarDataMover } from './data-path.ts'
export { sendDir, receiveDir } from './transfer.ts'
export type { TransferSummary } from './transfer.ts'
export { FRAME, readFrames, writeJson, jsonFrame, nextJson, encodeFrame, writeQueued } from './frames.ts'
export type { Frames } from './frames.ts'
export { migrateError } from './errors.ts'
export type { BulkOffer, BulkServer } from './bulk.ts'
export { openBulkServer, connectBulk, parseOffer } from './bulk.ts'
export { sendOffered, receiveOffered } from './negotiate.ts'
export type { BulkHost, SendOptions } from './negotiate.ts'

// Transitional, types only: cell.ts takes DemoPool from here until it declares its extraPool shape itself; then delete this file.
// The layering test fails on this cell -> cli import until then, on purpose.
export type { DemoPool } from '../cli/demo-pool.ts'

// One waitFor for the tests and the bench: polls a condition with a deadline, never a fixed sleep.
export { waitFor, type WaitForOptions } from '../../bench/src/wait-for.js';

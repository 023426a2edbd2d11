// What `npm start` loads from the consumer's build to check the settings
// before starting anything (scripts/lib/app-config.mjs): the loader the
// consumer runs.
export { loadConsumerConfig } from './config.js';

// What `npm start` loads from the API's build to check the settings before
// starting anything (scripts/lib/app-config.mjs): the loaders the API runs.
export { loadApiKeys } from './auth/access-config.js';
export { loadApiConfig } from './config.js';

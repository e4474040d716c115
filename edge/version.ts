import { createRequire } from 'node:module'

// Read once from package.json so birth messages and the CLI agree on one number.
const pkg = createRequire(import.meta.url)('../package.json') as { version: string }
export const VERSION: string = pkg.version

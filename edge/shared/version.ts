import { PACKAGE_VERSION } from './package-root.ts'

// One number for birth messages and the CLI: package.json's.
export const VERSION: string = PACKAGE_VERSION

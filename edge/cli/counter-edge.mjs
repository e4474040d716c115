#!/usr/bin/env node
// Launcher: the sources are TypeScript; tsx compiles them on load so a board or
// a laptop runs the CLI straight from a checkout or an npm install.
import { register } from 'tsx/esm/api'

register()
await import('./main.ts')

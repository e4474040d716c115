#!/usr/bin/env node
// Launcher: the sources are TypeScript; tsx compiles them on load so a board or
// a laptop runs the CLI straight from a checkout or an npm install.
import { register } from 'tsx/esm/api'

// The hub's LevelDB work (sessions, custody fsyncs) queues on libuv's threads:
// with the default four, that queue was most of the call latency's tail at 200
// boards (docs/benchmarks.md). Read once, when the pool first starts, so set here.
if (['hub', 'sim'].includes(process.argv[2] ?? '')) process.env.UV_THREADPOOL_SIZE ??= '16'

register()
await import('./main.ts')

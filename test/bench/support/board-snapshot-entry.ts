/**
 * Entry of the V8 startup snapshot the footprint bench measures as a lever
 * (test/bench/support/board-snapshot.ts): the edge command's whole module graph
 * is evaluated once, at `node --build-snapshot`, and each start deserializes
 * that heap and runs the command. Not what ships; see docs/benchmarks.md.
 */
import { startupSnapshot } from 'node:v8'
import { edgeCommand } from '../../../cli/edge-command.ts'

startupSnapshot.setDeserializeMainFunction(async () => {
  const at = process.argv.indexOf('--config')
  const stop = await edgeCommand.run({ config: at > 0 ? process.argv[at + 1] : undefined }, [])
  if (typeof stop !== 'function') return
  process.once('SIGTERM', () => {
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
})

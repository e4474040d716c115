import { existsSync } from 'node:fs'
import { idSchema } from '../edge/protocol/index.ts'
import { ROLES, generatePassword, makeEntry, readCredentialFile, writeCredentialFile, type Role } from '../hub/credentials.ts'
import { UsageError, type Subcommand } from './subcommand.ts'

export const provisionCommand: Subcommand = {
  name: 'provision',
  summary: 'add a board (or another client) to a hub credentials file and print its config once',
  usage: 'counter-edge provision --credentials hub-credentials.json --hall hall-1 --counter w05 [--hub mqtt://hub:1883]',
  options: {
    credentials: { type: 'string', description: 'the hub credentials file (created if absent)' },
    hall: { type: 'string', description: 'hall id, e.g. hall-1' },
    counter: { type: 'string', description: 'counter (window) id, e.g. w05; required for boards' },
    role: { type: 'string', default: 'board', description: `one of ${ROLES.join(', ')}` },
    username: { type: 'string', description: 'defaults to <hall>-<counter> for boards, <hall>-<role> otherwise' },
    hub: { type: 'string', default: 'mqtt://127.0.0.1:1883', description: 'hub address written into the printed board config; for a hub cluster, every node, comma-separated' },
    board: { type: 'string', default: 'sim-window', description: 'board profile written into the printed board config' },
    replace: { type: 'boolean', default: false, description: 'replace an existing entry (a replaced board gets a new password)' },
    revoke: { type: 'boolean', default: false, description: 'revoke the entry instead of adding one; the hub drops it on reload' },
  },
  async run(v) {
    const path = v.credentials as string | undefined
    if (!path) throw new UsageError('--credentials is required')
    const role = v.role as Role
    if (!ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, not "${role}"`)
    const hall = idSchema.safeParse(v.hall)
    if (!hall.success) throw new UsageError(`--hall: ${v.hall === undefined ? 'required' : hall.error.issues[0]!.message}`)
    let counter: string | null = null
    if (v.counter !== undefined || role === 'board') {
      const c = idSchema.safeParse(v.counter)
      if (!c.success) throw new UsageError(`--counter: ${v.counter === undefined ? 'required for a board' : c.error.issues[0]!.message}`)
      counter = c.data
    }
    const username = (v.username as string | undefined) ?? (counter ? `${hall.data}-${counter}` : `${hall.data}-${role}`)
    const entries = existsSync(path) ? await readCredentialFile(path) : []
    const existing = entries.findIndex((e) => e.username === username)
    if (v.revoke) {
      if (existing < 0) throw new UsageError(`no entry "${username}" in ${path}`)
      entries[existing] = { ...entries[existing]!, revoked: true }
      await writeCredentialFile(path, entries)
      console.log(`revoked ${username}; a running hub refuses it from its next reload (within a second)`)
      return 0
    }
    if (existing >= 0 && !v.replace) throw new UsageError(`"${username}" is already in ${path}; pass --replace to issue new credentials`)
    const password = generatePassword()
    const entry = await makeEntry({ username, role, hall: hall.data, counter, password })
    if (existing >= 0) entries[existing] = entry
    else entries.push(entry)
    await writeCredentialFile(path, entries)
    const config = role === 'board'
      ? { hall: hall.data, counter, board: v.board, hub: String(v.hub).split(',').map((h) => h.trim()).filter(Boolean), username, password }
      : { hall: hall.data, role, username, password }
    console.error(`added ${username} (${role}) to ${path}. The password is shown only now; keep this config on the board (mode 600):`)
    console.log(JSON.stringify(config, null, 2))
    return 0
  },
}

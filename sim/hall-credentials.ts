import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generatePassword, makeEntry, writeCredentialFile } from '../hub/credentials.ts'

export function counterId(i: number): string {
  return `w${String(i).padStart(2, '0')}`
}

export interface HallCredentials {
  /** Each window's password, by counter (w01, w02, …); its username is `{hall}-{counter}`. */
  passwords: Map<string, string>
  /** A technician account for the CLI (status, identify, selftest) against this hall. */
  technician: { username: string; passwordFile: string }
  /** The hub's credentials file. */
  credentialsFile: string
}

/** The accounts of a simulated hall, fresh each start: one per window and a technician's, written into `dir`. */
export async function writeHallCredentials(dir: string, hall: string, windows: number): Promise<HallCredentials> {
  const passwords = new Map<string, string>()
  const entries = await Promise.all(
    Array.from({ length: windows }, (_, i) => {
      const counter = counterId(i + 1)
      const password = generatePassword()
      passwords.set(counter, password)
      return makeEntry({ username: `${hall}-${counter}`, role: 'board', hall, counter, password })
    }),
  )
  // A simulated hall gets a technician account too, so the CLI works against it at once.
  const technician = { username: `${hall}-tech`, passwordFile: join(dir, 'technician-password') }
  const techPassword = generatePassword()
  entries.push(await makeEntry({ username: technician.username, role: 'technician', hall, counter: null, password: techPassword }))
  await writeFile(technician.passwordFile, techPassword + '\n', { mode: 0o600 })
  const credentialsFile = join(dir, 'credentials.json')
  await writeCredentialFile(credentialsFile, entries)
  return { passwords, technician, credentialsFile }
}

import { existsSync, statSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { parseBrokerUrl } from '../edge/shared/mqtt-connect.ts'
import { BOARDS_DIR } from '../edge/shared/package-root.ts'
import { loadProfileNamed } from './board-profile.ts'
import { idSchema } from '../edge/protocol/index.ts'
import { ROLES, USERNAME_PATTERN, generatePassword, makeEntry, readCredentialFile, writeCredentialFile, type Role } from '../hub/credentials.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import { checkedFlag } from './flag-value.ts'
import { didYouMean } from '../edge/shared/nearest-name.ts'
import { COMMAND_SUMMARIES } from './command-summaries.ts'

export const provisionCommand: Subcommand = {
  name: 'provision',
  summary: COMMAND_SUMMARIES.provision,
  usage: 'counter-edge provision --credentials hub-credentials.json --hall hall-1 --counter w05 [--hub mqtt://hub:1883]',
  options: {
    credentials: { type: 'string', description: '集线器的账号文件（不存在则创建） / the hub credentials file (created if absent)' },
    hall: { type: 'string', description: '大厅 id，如 hall-1 / hall id, e.g. hall-1' },
    counter: { type: 'string', description: '窗口 id，如 w05；role 为 board 时必需 / counter (window) id, e.g. w05; required for boards' },
    role: { type: 'string', default: 'board', description: `角色，可选 ${ROLES.join('、')} / one of ${ROLES.join(', ')}` },
    username: { type: 'string', description: '默认：设备为 <hall>-<counter>，其他为 <hall>-<role> / defaults to <hall>-<counter> for boards, <hall>-<role> otherwise' },
    hub: { type: 'string', default: 'mqtt://127.0.0.1:1883', description: '写入所打印设备配置的集线器地址；集线器集群则列出每个节点，以逗号分隔 / hub address written into the printed board config; for a hub cluster, every node, comma-separated' },
    board: { type: 'string', default: 'sim-window', description: '写入所打印设备配置的板型 / board profile written into the printed board config' },
    replace: { type: 'boolean', default: false, description: '替换已有的条目（被替换的设备获得新密码） / replace an existing entry (a replaced board gets a new password)' },
    out: { type: 'string', description: '把配置写入这个新文件（权限 600，只有所有者可读），而不打印 / write the config to this new file, readable by its owner only (mode 600), instead of printing it' },
    revoke: { type: 'boolean', default: false, description: '吊销该条目而不是添加；集线器重新加载时将其删除 / revoke the entry instead of adding one; the hub drops it on reload' },
  },
  async run(v) {
    const path = v.credentials as string | undefined
    if (!path) throw new UsageError('缺少 --credentials：集线器的凭据文件，如 /etc/counter-edge/credentials.json / --credentials is required: the hub credentials file, e.g. /etc/counter-edge/credentials.json')
    if (v.revoke && v.replace) throw new UsageError('--revoke 与 --replace 不能同时使用：吊销还是发放新凭据？ / --revoke and --replace contradict each other: revoke the entry, or issue new credentials?')
    const role = v.role as Role
    if (!ROLES.includes(role)) {
      const hint = didYouMean(role, ROLES)
      throw new UsageError(`--role 须为 ${ROLES.join('、')} 之一，不是 "${role}"${hint.zh} / --role must be one of ${ROLES.join(', ')}, not "${role}"${hint.en}`)
    }
    const hall = checkedFlag(idSchema, v.hall, '--hall', { zh: '缺少 --hall：大厅编号，如 hall-1', en: '--hall is required: the hall, e.g. hall-1' })
    let counter: string | null = null
    if (v.counter !== undefined && role !== 'board' && !v.revoke) {
      // A technician (or bridge, dashboard) account serves the whole hall; with a counter it would be named like that window's board.
      throw new UsageError(`--counter 只用于板卡；${role} 账号服务整个大厅，不属于某个窗口 / --counter is for boards only; a ${role} account serves the whole hall, not one window`)
    }
    if (v.counter !== undefined || role === 'board') {
      counter = checkedFlag(idSchema, v.counter, '--counter', {
        zh: '缺少 --counter：发放板卡须给出窗口编号，如 w05',
        en: '--counter is required for a board: the window, e.g. w05',
      })
    }
    const given = v.username as string | undefined
    if (given !== undefined && !USERNAME_PATTERN.test(given)) {
      const lower = given.toLowerCase()
      const hint = USERNAME_PATTERN.test(lower) ? { zh: `，是不是 "${lower}"？`, en: ` (did you mean "${lower}"?)` } : { zh: '', en: '' }
      throw new UsageError(
        `--username "${given}"：须为 1–64 个字符：a–z、0–9、"."、"_"、"-"，以字母或数字开头${hint.zh} / --username "${given}": expected 1–64 characters a–z, 0–9, ".", "_", "-", starting with a letter or digit${hint.en}`,
      )
    }
    const username = given ?? (counter ? `${hall}-${counter}` : `${hall}-${role}`)
    const out = v.out as string | undefined
    if (out !== undefined) {
      if (existsSync(out)) throw new UsageError(`--out ${out} 已存在，不覆盖 / --out ${out} already exists; not overwriting a board's config`)
      if (!isDirectory(dirname(resolve(out)))) throw new UsageError(`--out ${out} 的文件夹不存在 / the folder of --out ${out} does not exist: ${dirname(resolve(out))}`)
    }
    const folder = dirname(resolve(path))
    if (!isDirectory(folder)) throw new UsageError(`凭据文件所在的文件夹不存在 / the folder of --credentials ${path} does not exist: ${folder}`)
    const entries = existsSync(path) ? await readCredentialFile(path) : []
    // A credentials file belongs to one hub, and a hub to one hall: a board of another hall would
    // be let in and then refused every topic it publishes.
    const halls = [...new Set(entries.map((e) => e.hall))]
    if (halls.length > 0 && !halls.includes(hall)) {
      throw new UsageError(`--hall ${hall} 与凭据文件的大厅 ${halls.join(', ')} 不符 / --hall ${hall} differs from the hall of ${path} (${halls.join(', ')}): a hub serves one hall`)
    }
    const existing = entries.findIndex((e) => e.username === username)
    if (v.revoke) {
      if (existing < 0) throw new UsageError(`${path} 中没有 "${username}" / no entry "${username}" in ${path}`)
      if (entries[existing]!.revoked) {
        console.log(`${username} 早已吊销，无需再做 / ${username} was already revoked; nothing changed`)
        return 0
      }
      entries[existing] = { ...entries[existing]!, revoked: true }
      await writeCredentialFile(path, entries)
      console.log(`已吊销 ${username}：运行中的集线器在下次重新加载凭据时（一秒内）断开并拒绝它 / revoked ${username}; a running hub drops and refuses it from its next reload (within a second)`)
      return 0
    }
    if (existing >= 0 && !v.replace) {
      const revoked = entries[existing]!.revoked
      throw new UsageError(
        revoked
          ? `"${username}" 在 ${path} 中已被吊销；加 --replace 发放新凭据 / "${username}" is in ${path} and REVOKED; pass --replace to issue new credentials`
          : `"${username}" 已在 ${path} 中；加 --replace 发放新凭据 / "${username}" is already in ${path}; pass --replace to issue new credentials`,
      )
    }
    if (role === 'board') {
      // One board per window: a second board account for the same window would let two boards take its
      // commands, both show its calls and both take a rating for one service.
      const holder = entries.find((e) => e.role === 'board' && !e.revoked && e.hall === hall && e.counter === counter && e.username !== username)
      if (holder) {
        throw new UsageError(
          `窗口 ${counter} 已有板卡账号 "${holder.username}"：一个窗口只能有一块板卡；换板请用 --replace --username ${holder.username}，或先 --revoke --username ${holder.username} / ` +
            `window ${counter} already has a board account, "${holder.username}": a window has one board; to swap its board pass --replace --username ${holder.username}, or first --revoke --username ${holder.username}`,
        )
      }
      await checkBoardConfig(v.hub as string, v.board as string)
    }
    const password = generatePassword()
    const entry = await makeEntry({ username, role, hall, counter, password })
    if (existing >= 0) entries[existing] = entry
    else entries.push(entry)
    await writeCredentialFile(path, entries)
    const config = role === 'board'
      ? { hall, counter, board: v.board, hub: String(v.hub).split(',').map((h) => h.trim()).filter(Boolean), username, password }
      : { hall, role, username, password }
    if (out !== undefined) {
      // 'wx': created here with mode 600 from the first byte, never a file someone else made.
      await writeFile(out, JSON.stringify(config, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
      console.error(`已将 ${username}（${role}）加入 ${path}，配置写入 ${out}（仅属主可读）/ added ${username} (${role}) to ${path}; its config is in ${out} (mode 600)`)
      return 0
    }
    console.error(`已将 ${username}（${role}）加入 ${path}。密码只显示这一次 / added ${username} (${role}) to ${path}. The password is shown only now; keep this config on the board (mode 600), or use --out <file>:`)
    console.log(JSON.stringify(config, null, 2))
    return 0
  },
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

/** The printed config must start a board: an address a board can dial and a profile that exists. */
async function checkBoardConfig(hub: string, board: string): Promise<void> {
  const addresses = hub.split(',').map((h) => h.trim()).filter(Boolean)
  if (addresses.length === 0) throw new UsageError('--hub 为空 / --hub is empty: give mqtt://host:1883 or mqtts://host:8883')
  for (const a of addresses) {
    try {
      parseBrokerUrl(a)
    } catch (err) {
      // The parser says what is wrong (scheme, port, a path, a password in it), in both languages.
      const [zh, en = zh] = (err as Error).message.split(' / ')
      throw new UsageError(`--hub ${a}：${zh} / --hub ${a}: ${en}`)
    }
  }
  await loadProfileNamed(board, BOARDS_DIR, '--board')
}

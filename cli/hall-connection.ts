import { readFile } from 'node:fs/promises'
import type { MqttClient } from 'mqtt'
import { connectMqtt, parseBrokerUrl } from '../edge/shared/mqtt-connect.ts'
import { UsageError, type OptionSpec } from './subcommand.ts'
import { readFailureEn, readFailureZh } from '../edge/shared/read-failure.ts'

/** The flags every command that talks to a hub shares. */
export const HUB_OPTIONS: Record<string, OptionSpec> = {
  hub: { type: 'string', default: 'mqtt://127.0.0.1:1883', description: '大厅集线器地址 / the hall hub' },
  hall: { type: 'string', default: 'hall-1', description: '大厅 id / hall id' },
  username: { type: 'string', description: '技术员或看板账号（见 `counter-edge provision --role technician`） / a technician or dashboard account (see `counter-edge provision --role technician`)' },
  'password-file': { type: 'string', description: '存放密码的文件；或设置环境变量 COUNTER_EDGE_PASSWORD / file holding the password; or set COUNTER_EDGE_PASSWORD' },
}

/** The password of --username: from --password-file or COUNTER_EDGE_PASSWORD, never from the command line (shell history). */
export async function readPassword(v: Record<string, string | boolean | undefined>): Promise<string> {
  let password = process.env.COUNTER_EDGE_PASSWORD
  const file = v['password-file'] as string | undefined
  if (file) {
    password = (
      await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new UsageError(`无法读取密码文件 ${file}：${readFailureZh(e.code)} / cannot read --password-file ${file}: ${readFailureEn(e)}`)
      })
    ).trim()
    if (!password) throw new UsageError(`密码文件 ${file} 是空的 / --password-file ${file} is empty`)
  }
  if (!password) throw new UsageError('没有密码：请给出 --password-file 或设置 COUNTER_EDGE_PASSWORD / no password: give --password-file or set COUNTER_EDGE_PASSWORD')
  return password
}

/** Connects as a person would: credentials from a file or the environment, never from the command line (shell history). */
export async function connectToHub(v: Record<string, string | boolean | undefined>, clientSuffix: string): Promise<MqttClient> {
  if (!v.username) throw new UsageError('缺少 --username：技术员或看板账号，如 hall-1-tech / --username is required (a technician or dashboard account), e.g. hall-1-tech')
  const password = await readPassword(v)
  const client = connectMqtt({
    addresses: [parseBrokerUrl(v.hub as string)],
    clientId: `${v.username}-${clientSuffix}-${process.pid}`,
    username: v.username as string,
    password,
    clean: true,
    reconnectPeriod: 0,
  })
  return await new Promise<MqttClient>((resolve, reject) => {
    const t = setTimeout(() => {
      client.end(true)
      reject(new Error(`集线器 ${v.hub} 在 5 秒内没有应答：它是否在运行、网络是否可达？/ no answer from the hub at ${v.hub} within 5 s: is it running and reachable?`))
    }, 5000)
    client.once('connect', () => {
      clearTimeout(t)
      resolve(client)
    })
    client.once('error', (err) => {
      clearTimeout(t)
      client.end(true)
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
        return reject(new Error(`无法连接集线器 ${v.hub}（${code}）：它是否在运行、地址是否正确？/ cannot reach the hub at ${v.hub} (${code}): is it running, and is --hub right?`))
      }
      const refusedLogin = /Bad username|Not authorized/i.test(err.message)
      reject(
        new Error(
          refusedLogin
            ? // MQTT has one answer for both: a wrong password, and a right one while the hub holds off an account or address that just failed several times.
              `集线器 ${v.hub} 拒绝了登录：请检查用户名和密码；若刚才多次输错，集线器会暂停接受此账号登录，请等一分钟再用正确的密码试 / the hub at ${v.hub} refused the connection: ${err.message} (check the username and password; after several wrong tries the hub holds off this account for up to a minute, so wait, then try the right one)`
            : `集线器 ${v.hub} 拒绝了连接 / the hub at ${v.hub} refused the connection: ${err.message}`,
        ),
      )
    })
  })
}

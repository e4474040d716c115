/**
 * Device fault codes (as on the wire: state.faults, event/fault) in words a
 * hall technician reads, Chinese and English, each with what to do first.
 * The dashboard, the window detail view and the CLI all take their words
 * from here, so a code reads the same wherever it is seen.
 */

export interface FaultWords {
  zh: string
  en: string
  /** What to check first, in the order a technician would. */
  hintZh: string
  hintEn: string
}

const FAULTS: Record<string, FaultWords> = {
  absent: {
    zh: '设备未应答',
    en: 'device not answering',
    hintZh: '检查设备是否插好、供电，接线与地址是否与配置一致',
    hintEn: 'check the device is plugged in and powered, and its wiring and address match the board profile',
  },
  nack: {
    zh: '设备失去响应',
    en: 'device stopped answering',
    hintZh: '之前正常：检查排线是否松动、电源是否稳定',
    hintEn: 'it answered before: check for a loose cable or an unstable power supply',
  },
  'bus-missing': {
    zh: '总线不存在',
    en: 'bus missing',
    hintZh: '板上未启用该 I2C 总线或总线号配置错误；启用后重启',
    hintEn: 'the I2C bus is not enabled on the board or the bus number is wrong; enable it and restart',
  },
  io: {
    zh: '读写错误',
    en: 'input/output error',
    hintZh: '检查接线与供电；若反复出现，请更换该设备',
    hintEn: 'check wiring and power; if it keeps coming back, replace the device',
  },
  stuck: {
    zh: '按键卡住',
    en: 'key stuck down',
    hintZh: '按键一直处于按下状态：检查按键是否被压住或进水',
    hintEn: 'the key reads as held down: check nothing presses it and it is dry',
  },
  chatter: {
    zh: '按键抖动',
    en: 'key chattering',
    hintZh: '按键信号反复跳变，已屏蔽：检查上拉电阻与接线是否松动',
    hintEn: 'the key line flickers and is muted: check the pull-up and for a loose wire',
  },
  unreachable: {
    zh: '设备失联',
    en: 'device unreachable',
    hintZh: '之前正常：检查 RS-485 线缆、终端电阻与模块供电',
    hintEn: 'it answered before: check the RS-485 cable, its termination and the module power',
  },
  crc: {
    zh: '通信校验错误',
    en: 'checksum errors',
    hintZh: 'RS-485 线路受干扰：检查屏蔽、终端电阻与波特率',
    hintEn: 'interference on the RS-485 line: check shielding, termination and baud rate',
  },
  'no-answer': {
    zh: '采集设备无响应',
    en: 'capture device not answering',
    hintZh: '连续多次采集都没有完成信号：检查设备是否开机、供电，触发线与完成线是否接好；自检可确认',
    hintEn: 'several captures in a row got no done signal: check the device is on and powered and its trigger and done lines are connected; a self-test confirms it',
  },
  'device-fault': {
    zh: '设备故障',
    en: 'device fault',
    hintZh: '查看窗口详情中的故障信息；重新插拔设备后运行自检',
    hintEn: 'read the fault message in the window detail; reseat the device and run a self-test',
  },
}

/** Words for a fault code; a code this table does not know is shown as itself, never hidden. */
export function faultWords(code: string): FaultWords {
  return (
    FAULTS[code] ?? {
      zh: `故障 ${code}`,
      en: `fault ${code}`,
      hintZh: '查看窗口详情中的故障信息，并运行自检',
      hintEn: 'read the fault message in the window detail and run a self-test',
    }
  )
}

/** The whole table, for a browser page to carry in its script. */
export function faultWordTable(): Readonly<Record<string, FaultWords>> {
  return FAULTS
}

import { describe, it, expect } from 'vitest'
import { parseBrokerUrl } from '../../edge/shared/mqtt-connect.ts'

/** The hub addresses a technician types (provision --hub, a board's config, the CLI's --hub): a typo is named, never dialled. */
describe('parseBrokerUrl', () => {
  it('reads a scheme, a host and a port, with the defaults for each scheme', () => {
    expect(parseBrokerUrl('mqtt://hub:1884')).toEqual({ host: 'hub', port: 1884, tls: false })
    expect(parseBrokerUrl('hub-2.local:1883')).toEqual({ host: 'hub-2.local', port: 1883, tls: false })
    expect(parseBrokerUrl('mqtts://hub')).toEqual({ host: 'hub', port: 8883, tls: true })
    expect(parseBrokerUrl('mqtt://hub/')).toEqual({ host: 'hub', port: 1883, tls: false })
    expect(parseBrokerUrl('[::1]:1883')).toEqual({ host: '::1', port: 1883, tls: false })
  })

  it('a colon missing after the scheme is named, not read as a host called "mqtt"', () => {
    expect(() => parseBrokerUrl('mqtt//127.0.0.1:33110')).toThrow(
      '集线器地址 "mqtt//127.0.0.1:33110" 只能是协议、主机和端口，如 mqtt://host:1883；协议名后是否少了冒号？ / broker address "mqtt//127.0.0.1:33110" must be only a scheme, a host and a port, like mqtt://host:1883; is the ":" after the scheme missing?',
    )
  })

  it('a path, a query or no host is refused; so is a password in the address, without echoing it', () => {
    for (const bad of ['mqtt://hub:1883/hall-1', 'mqtt://hub?x=1', 'mqtt://']) expect(() => parseBrokerUrl(bad)).toThrow(/must be only a scheme, a host and a port/)
    expect(() => parseBrokerUrl('mqtt://tech:s3cret@hub')).toThrow(/carries no user name or password/)
    expect(() => parseBrokerUrl('mqtt://tech:s3cret@hub')).not.toThrow(/s3cret/)
    expect(() => parseBrokerUrl('http://hub')).toThrow('集线器地址 "http://hub" 须以 mqtt:// 或 mqtts:// 开头 / broker address "http://hub": scheme must be mqtt:// or mqtts://')
    // A port out of range is named as that, not as a malformed address.
    expect(() => parseBrokerUrl('mqtt://hub:99999')).toThrow('集线器地址 "mqtt://hub:99999" 的端口 99999 超出范围（1–65535） / broker address "mqtt://hub:99999": port 99999 is out of range (1–65535)')
    expect(() => parseBrokerUrl('mqtt://hub:0')).toThrow(/port 0 cannot be dialled/)
    expect(() => parseBrokerUrl('mqtt://hub:x1')).toThrow(/is not a URL like mqtt:\/\/host:1883/)
  })
})

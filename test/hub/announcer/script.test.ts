import { describe, expect, it } from 'vitest'
import { checkTemplate, DEFAULT_PHRASES, DEFAULT_TEMPLATES, fillTemplate, tokenize } from '../../../hub/announcer/script.ts'
import { announcerConfigSchema } from '../../../hub/announcer/announcer-config.ts'

const zh = new Set(DEFAULT_PHRASES.zh)
const en = new Set(DEFAULT_PHRASES.en)

describe('announcement script', () => {
  it('cuts the default template into the clips halls use: 请 / A / 0 / 1 / 2 / 号 / 到 / 3 / 号窗口 / 办理', () => {
    expect(tokenize(DEFAULT_TEMPLATES.zh, { ticket: 'A012', window: '3' }, zh, 'zh')).toEqual(['请', 'A', '0', '1', '2', '号', '到', '3', '号窗口', '办理'])
    expect(fillTemplate(DEFAULT_TEMPLATES.zh, { ticket: 'A012', window: '3' })).toBe('请A012号到3号窗口办理')
    // A window number of two digits is said digit by digit, like the ticket.
    expect(tokenize(DEFAULT_TEMPLATES.zh, { ticket: 'B7', window: '12' }, zh, 'zh')).toEqual(['请', 'B', '7', '号', '到', '1', '2', '号窗口', '办理'])
  })

  it('prefers the longest phrase the pack has, so a hall may record whole phrases; unknown text becomes one clip per character', () => {
    expect(tokenize(DEFAULT_TEMPLATES.zh, { ticket: 'A1', window: '3' }, new Set([...zh, '号到']), 'zh')).toEqual(['请', 'A', '1', '号到', '3', '号窗口', '办理'])
    expect(tokenize('请{ticket}号，到{window}号窗口！', { ticket: 'C9', window: '5' }, zh, 'zh')).toEqual(['请', 'C', '9', '号', '到', '5', '号窗口'])
    expect(tokenize('{ticket}号请到{window}号柜台', { ticket: 'A1', window: '2' }, zh, 'zh')).toEqual(['A', '1', '号', '请', '到', '2', '号', '柜', '台'])
  })

  it('says English word by word, case and punctuation aside', () => {
    expect(tokenize(DEFAULT_TEMPLATES.en, { ticket: 'A012', window: '3' }, en, 'en')).toEqual(['number', 'A', '0', '1', '2', 'please', 'go', 'to', 'window', '3'])
    expect(tokenize(DEFAULT_TEMPLATES.en, { ticket: 'A1', window: '3' }, new Set([...en, 'go to window']), 'en')).toEqual(['number', 'A', '1', 'please', 'go to window', '3'])
  })

  it('refuses a template without both placeholders or with another one, naming it', () => {
    expect(checkTemplate('请{ticket}号办理')).toEqual({ zh: '模板须包含 {window}', en: 'the template must contain {window}' })
    expect(checkTemplate('请{ticket}号到{window}号窗口{counter}')?.en).toMatch(/unknown placeholder \{counter\}/)
    expect(checkTemplate(DEFAULT_TEMPLATES.zh)).toBeNull()
    const r = announcerConfigSchema.safeParse({ voiceDir: '/v', output: { dir: '/o' }, template: '请{ticket}号' })
    expect(r.success).toBe(false)
    expect(r.error!.issues[0]).toMatchObject({ path: ['template'], message: 'the template must contain {window}' })
    expect(announcerConfigSchema.safeParse({ voiceDir: '/v', output: { dir: '/o' }, timeZone: 'Mars/Olympus' }).error!.issues[0]!.path).toEqual(['timeZone'])
    expect(announcerConfigSchema.safeParse({ voiceDir: '/v', output: { dir: '/o' }, quietHours: { from: '25:00', to: '08:00' } }).error!.issues[0]!.path).toEqual(['quietHours', 'from'])
  })
})

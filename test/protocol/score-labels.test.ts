import { describe, expect, it } from 'vitest'
import { EVALUATION_SCORES, FOLLOW_UP_SCORES, SCORE_LABELS, THREE_KEY_SCORES, eventExamples, isFollowUpScore, parseMessage, topics } from '../../edge/protocol/index.ts'

describe('rating scale labels', () => {
  it('name every score on the national five-level scale, each level once', () => {
    expect(Object.keys(SCORE_LABELS).sort()).toEqual([...EVALUATION_SCORES].sort())
    expect(EVALUATION_SCORES.map((s) => SCORE_LABELS[s].national)).toEqual(['非常满意', '满意', '基本满意', '不满意', '非常不满意'])
  })

  it('give a three-key word exactly to the scores a three-key evaluator sends', () => {
    const threeKey = EVALUATION_SCORES.filter((s) => SCORE_LABELS[s].threeKey !== null)
    expect(threeKey).toEqual([...THREE_KEY_SCORES])
    expect(THREE_KEY_SCORES.map((s) => SCORE_LABELS[s].threeKey)).toEqual(['满意', '一般', '不满意'])
  })

  it('mark the two dissatisfied levels, and only those, for follow-up', () => {
    expect(EVALUATION_SCORES.filter((s) => SCORE_LABELS[s].followUp)).toEqual(['dissatisfied', 'very-dissatisfied'])
    expect([...FOLLOW_UP_SCORES]).toEqual(EVALUATION_SCORES.filter(isFollowUpScore))
  })

  it('a rating-alert carries the national label of its score, on the scale the board has', () => {
    const topic = topics.event('h1', 'w05', 'rating-alert')
    const alert = eventExamples['rating-alert']
    const five = { ...alert, scale: 5, score: 'very-dissatisfied', level: '非常不满意' }
    expect(parseMessage(topic, JSON.stringify(five)).ok).toBe(true)
    const threeKeyExtreme = parseMessage(topic, JSON.stringify({ ...five, scale: 3 }))
    expect(threeKeyExtreme.ok ? 'accepted' : threeKeyExtreme.message).toContain('score')
    const wrongLabel = parseMessage(topic, JSON.stringify({ ...alert, level: '非常不满意' }))
    expect(wrongLabel.ok ? 'accepted' : wrongLabel.message).toContain('level')
  })
})

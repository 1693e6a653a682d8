import { z } from 'zod';
import type { DeliveredMessage } from '../ports/event-bus.ts';

/**
 * What the dead-letter topic carries: the message exactly as it arrived, who
 * gave up on it and why. Operators replay from here.
 */
export const deadLetterSchema = z.object({
  group: z.string(),
  topic: z.string(),
  partition: z.number().int(),
  offset: z.string(),
  key: z.string(),
  reason: z.string(),
  attempts: z.number().int().nonnegative(),
  time: z.iso.datetime(),
  /** The original message value, as UTF-8 text (events are JSON). */
  value: z.string(),
});
export type DeadLetter = z.infer<typeof deadLetterSchema>;

export function toDeadLetter(message: DeliveredMessage, group: string, reason: string, attempts: number): DeadLetter {
  return {
    group,
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: message.key,
    reason,
    attempts,
    time: new Date().toISOString(),
    value: message.value.toString('utf8'),
  };
}

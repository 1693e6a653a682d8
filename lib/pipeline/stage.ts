import { createEvent, InvalidEventError, type EventOf, type EventType, type ImageEvent } from '../events/envelope.ts';
import { TOPICS } from '../events/topics.ts';
import { pipelineStageSchema, type PipelineStage } from '../events/payloads.ts';
import type { Logger } from '../logger.ts';
import type { EventBus, Subscription } from '../ports/event-bus.ts';
import { runConsumer, type GivenUpReporter, type HandlerContext } from './consumer.ts';
import type { RetryPolicy } from './retry.ts';
import type { Registry } from 'prom-client';

/** A pipeline stage: pure stage logic from one input event type to the events it publishes. */
export interface StageDefinition<T extends EventType> {
  /** Names the consumer group; a pipeline stage's is also named in its image.failed events. */
  readonly stage: PipelineStage | 'intake' | 'transform' | 'rescan';
  readonly input: T;
  readonly handle: (event: EventOf<T>, context: HandlerContext) => Promise<readonly ImageEvent[]>;
  /** What to publish about a message given up on; by default image.failed at a pipeline stage. */
  readonly reportGivenUp?: GivenUpReporter;
}

/** Reports a message given up on as image.failed at a pipeline stage (the transform stage reports its own way). */
export function imageFailedAt(stage: PipelineStage): GivenUpReporter {
  return (event, givenUp) => [createEvent(TOPICS.imageFailed, event, { stage, ...givenUp })];
}

/** `{ name: value }`, or nothing when the value is undefined (optional properties are exact). */
const optional = <K extends string, V>(name: K, value: V | undefined) =>
  (value === undefined ? {} : { [name]: value }) as Partial<Record<K, V>>;

const isPipelineStage = (stage: string): stage is PipelineStage => pipelineStageSchema.safeParse(stage).success;

const isEventOf = <T extends EventType>(type: T, event: ImageEvent): event is EventOf<T> => event.type === type;

/** Consumes the stage's input topic as its own consumer group, `progimage-<stage>`. */
export function startStage<T extends EventType>(
  definition: StageDefinition<T>,
  dependencies: {
    readonly bus: EventBus;
    readonly log: Logger;
    readonly retry: RetryPolicy;
    readonly metrics: Registry;
    readonly concurrency?: number;
  },
): Promise<Subscription> {
  return runConsumer({
    ...dependencies,
    group: `progimage-${definition.stage}`,
    topics: [definition.input],
    ...optional(
      'reportGivenUp',
      definition.reportGivenUp ?? (isPipelineStage(definition.stage) ? imageFailedAt(definition.stage) : undefined),
    ),
    handle: (event, context) => {
      if (!isEventOf(definition.input, event)) {
        throw new InvalidEventError(`expected a ${definition.input} event on its topic, got ${event.type}`);
      }
      return definition.handle(event, context);
    },
  });
}

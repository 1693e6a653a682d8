import { InvalidEventError, type EventOf, type EventType, type ImageEvent } from '../events/envelope.ts';
import type { PipelineStage } from '../events/payloads.ts';
import type { Logger } from '../logger.ts';
import type { EventBus, Subscription } from '../ports/event-bus.ts';
import { runConsumer, type HandlerContext } from './consumer.ts';
import type { RetryPolicy } from './retry.ts';

/** A pipeline stage: pure stage logic from one input event type to the events it publishes. */
export interface StageDefinition<T extends EventType> {
  readonly stage: PipelineStage;
  readonly input: T;
  readonly handle: (event: EventOf<T>, context: HandlerContext) => Promise<readonly ImageEvent[]>;
}

const isEventOf = <T extends EventType>(type: T, event: ImageEvent): event is EventOf<T> => event.type === type;

/** Consumes the stage's input topic as its own consumer group, `progimage-<stage>`. */
export function startStage<T extends EventType>(
  definition: StageDefinition<T>,
  dependencies: { readonly bus: EventBus; readonly log: Logger; readonly retry: RetryPolicy },
): Promise<Subscription> {
  return runConsumer({
    ...dependencies,
    group: `progimage-${definition.stage}`,
    topics: [definition.input],
    stage: definition.stage,
    handle: (event, context) => {
      if (!isEventOf(definition.input, event)) {
        throw new InvalidEventError(`expected a ${definition.input} event on its topic, got ${event.type}`);
      }
      return definition.handle(event, context);
    },
  });
}

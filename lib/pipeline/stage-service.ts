import type { EventType } from '../events/envelope.ts';
import type { ReadinessCheck } from '../http/health.ts';
import type { RunningService, ServiceDependencies, ServiceFactory } from '../service/host.ts';
import { DEFAULT_RETRY_POLICY } from './retry.ts';
import { startStage, type StageDefinition } from './stage.ts';

export interface StageSetup<T extends EventType> {
  readonly definition: StageDefinition<T>;
  readonly readiness?: Readonly<Record<string, ReadinessCheck>>;
}

/** A processor as a service: its stage consumed with the shared runner, PROGIMAGE_CONSUMER_CONCURRENCY messages at once, nothing else. */
export function stageService<T extends EventType>(setup: (dependencies: ServiceDependencies) => StageSetup<T>): ServiceFactory {
  return async (dependencies): Promise<RunningService> => {
    const { definition, readiness } = setup(dependencies);
    const log = dependencies.log.child({ stage: definition.stage });
    const subscription = await startStage(definition, {
      bus: dependencies.bus,
      log,
      retry: DEFAULT_RETRY_POLICY,
      metrics: dependencies.metrics,
      concurrency: dependencies.config.pipeline.consumerConcurrency,
    });
    return {
      name: definition.stage,
      ...(readiness === undefined ? {} : { readiness }),
      stop: () => subscription.stop(),
    };
  };
}

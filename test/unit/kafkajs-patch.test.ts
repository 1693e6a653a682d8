import test from 'ava';
import { createRequire } from 'node:module';

/** The part of kafkajs's internal request queue (one per broker connection) that patches/kafkajs+2.2.4.patch changes. */
interface RequestQueue {
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  maybeThrottle(clientSideThrottleTime: number): void;
}

const RequestQueueClass = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as new (options: {
  readonly maxInFlightRequests: number | null;
  readonly requestTimeout: number;
  readonly enforceRequestTimeout: boolean;
  readonly clientId: string;
  readonly broker: string;
  readonly logger: Record<'debug' | 'info' | 'warn' | 'error', () => void>;
}) => RequestQueue;

const quiet = () => undefined;
const newQueue = (): RequestQueue =>
  new RequestQueueClass({
    maxInFlightRequests: null,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: 'localhost:9092',
    logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
  });

test('an idle kafkajs connection arms no timer: nothing pending and no throttle, nothing to check (patches/kafkajs+2.2.4.patch)', (t) => {
  const queue = newQueue();
  queue.checkPendingRequests();
  t.is(queue.throttleCheckTimeoutId, null, 'unpatched, kafkajs 2.2.4 re-arms a 1 ms timer here, forever');
});

test('a throttled kafkajs connection still checks its queue when the throttle ends', (t) => {
  const queue = newQueue();
  queue.maybeThrottle(60_000);
  queue.checkPendingRequests();
  t.not(queue.throttleCheckTimeoutId, null);
  if (queue.throttleCheckTimeoutId !== null) clearTimeout(queue.throttleCheckTimeoutId);
});

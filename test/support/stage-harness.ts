import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ExecutionContext } from 'ava';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createClamdScanner } from '../../lib/adapters/clamd-scanner.ts';
import { createFolderBlobStore } from '../../lib/adapters/folder-blob-store.ts';
import { createInProcessEventBus } from '../../lib/adapters/in-process-event-bus.ts';
import { ConcurrencyLimit } from '../../lib/concurrency.ts';
import { DependencyUnavailableError } from '../../lib/errors.ts';
import { deadLetterSchema, type DeadLetter } from '../../lib/events/dead-letter.ts';
import { decodeEvent, encodeEvent, type EventOf, type EventType, type ImageEvent } from '../../lib/events/envelope.ts';
import { ALL_TOPICS, TOPICS, type Topic } from '../../lib/events/topics.ts';
import { startStage, type StageDefinition } from '../../lib/pipeline/stage.ts';
import type { BlobStore } from '../../lib/ports/blob-store.ts';
import type { ScanResult, Scanner } from '../../lib/ports/scanner.ts';
import { scanVerdictCounter, type ScanDependencies } from '../../lib/scan-original.ts';
import { waitUntil } from '../../lib/wait.ts';
import { closedPort } from './closed-port.ts';
import { EICAR, readFixture } from './fixtures.ts';

/*
 * What the stage tests (test/unit/<stage>-stage.test.ts) share: the embedded
 * adapters in fresh folders, the scanner and blob store as a stage sees them
 * fail, and a stage on the shared runner over the in-process bus.
 */

/** The image every stage test processes, on the default tenant. */
export const SUBJECT = { imageId: '0b7e5c1d-2f3a-4b6c-8d9e-aabbccdd0001', tenant: 'default' } as const;

/** The embedded blob store in a fresh folder. */
export const emptyBlobStore = (): Promise<BlobStore> => createFolderBlobStore(mkdtempSync(join(tmpdir(), 'stage-blobs-')));

/** The pixel work a stage may do at once: one job, as on one CPU. */
export const onePixelJob = (): ConcurrencyLimit => new ConcurrencyLimit(1);

/** Stores fixture `name` under `key` and returns its bytes. */
export async function storeFixture(blobs: BlobStore, key: string, name: string): Promise<Buffer> {
  const bytes = await readFixture(name);
  await blobs.put(key, bytes, { contentType: 'application/octet-stream' });
  return bytes;
}

/** Every key in the store, in order, with the sha256 of its bytes: what a redelivery must leave as it found (or overwrite with the same). */
export async function storeContents(blobs: BlobStore): Promise<Record<string, string>> {
  const contents: Record<string, string> = {};
  for await (const blob of blobs.list('')) contents[blob.key] = blob.sha256;
  return contents;
}

/** The one event a stage published, as an event of `type`; anything else (none, two, another type) throws. */
export function onlyEvent<T extends EventType>(events: readonly ImageEvent[], type: T): EventOf<T> {
  const [event, ...more] = events;
  if (event?.type !== type || more.length > 0)
    throw new Error(`expected one ${type} event, got ${JSON.stringify(events.map((each) => each.type))}`);
  return event as EventOf<T>;
}

/** Events' types, subjects and payloads, without what each delivery makes afresh (an event's id and time). */
export const withoutIdentity = (events: readonly ImageEvent[]): Omit<ImageEvent, 'eventId' | 'time'>[] =>
  events.map(({ eventId: _id, time: _time, ...rest }) => rest);

const readAll = async (body: Buffer | Readable): Promise<Buffer> => {
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/**
 * A scanner double that reads what it is given to the end and calls it
 * infected when it holds the EICAR test string, as clamd does with the
 * project's test signatures (infra/local/clamav). Only for a stage's unit
 * test: the contract tests run real clamd.
 */
export function eicarScanner(): Scanner & { readonly scanned: Buffer[] } {
  const scanned: Buffer[] = [];
  return {
    enabled: true,
    scanned,
    async scan(body): Promise<ScanResult> {
      const bytes = await readAll(body);
      scanned.push(bytes);
      const found = bytes.includes(EICAR);
      return {
        verdict: found ? 'infected' : 'clean',
        signatures: found ? ['ProgImage.Test.EICAR'] : [],
        engine: 'ClamAV 1.4.6',
        signatureVersion: '27543',
      };
    },
    checkHealth: () => Promise.resolve(),
  };
}

/** The real clamd adapter, pointed where no clamd answers: a scanner that is down. */
export const unreachableClamd = async (): Promise<Scanner> =>
  createClamdScanner({ host: '127.0.0.1', port: await closedPort(), timeoutMs: 2000 });

/** The scan and rescan stages' dependencies: `scanner` on `blobs`, verdicts counted in a registry of their own. */
export function scanDependencies(
  blobs: BlobStore,
  scanner: Scanner,
): ScanDependencies & { readonly verdictCount: (verdict: string) => Promise<number> } {
  const verdicts = scanVerdictCounter(new Registry());
  return {
    blobs,
    scanner,
    verdicts,
    verdictCount: async (verdict) => (await verdicts.get()).values.find((value) => value.labels.verdict === verdict)?.value ?? 0,
  };
}

/**
 * `blobs` as it is while its server does not answer, for the first `failures`
 * reads (get and getStream): each rejects as the MinIO adapter does then,
 * with a DependencyUnavailableError. Writes and the rest pass through.
 */
export function blobStoreDownForReads(blobs: BlobStore, failures: number): BlobStore & { readonly reads: () => number } {
  let reads = 0;
  const read =
    <A extends unknown[], R>(operation: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      reads += 1;
      if (reads <= failures) return Promise.reject(new DependencyUnavailableError('S3 did not answer while reading: connect ECONNREFUSED'));
      return operation(...args);
    };
  return {
    reads: () => reads,
    put: (key, body, options) => blobs.put(key, body, options),
    get: read((key: string) => blobs.get(key)),
    getStream: read((key: string, range?: Parameters<BlobStore['getStream']>[1]) => blobs.getStream(key, range)),
    stat: (key) => blobs.stat(key),
    move: (from, to) => blobs.move(from, to),
    delete: (key) => blobs.delete(key),
    list: (prefix) => blobs.list(prefix),
    checkHealth: () => blobs.checkHealth(),
  };
}

/** A stage consumed by the shared runner on the in-process bus, and everything published on the bus. */
export interface StageOnBus {
  /** Publishes an event on its topic, keyed by its image id, as the stage before would. */
  publish(event: ImageEvent): Promise<void>;
  /** Waits until `topic` has had `count` events and returns them, decoded, in order. */
  events<T extends EventType>(topic: T, count?: number): Promise<EventOf<T>[]>;
  /** Waits until `count` messages were dead-lettered and returns them. */
  deadLetters(count?: number): Promise<DeadLetter[]>;
  /** What has been published on `topic` so far. */
  seen(topic: Topic): readonly Buffer[];
}

/** Retries within milliseconds, so a test of the retry path is quick. */
const QUICK_RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

/** Runs `definition` as processors/<stage>/service.ts does, on a fresh bus in a fresh folder, stopped when the test ends. */
export async function startStageOnBus<T extends EventType>(t: ExecutionContext, definition: StageDefinition<T>): Promise<StageOnBus> {
  const bus = await createInProcessEventBus(mkdtempSync(join(tmpdir(), 'stage-bus-')));
  t.teardown(() => bus.close());
  const published = new Map<Topic, Buffer[]>(ALL_TOPICS.map((topic) => [topic, []]));
  const seen = (topic: Topic): Buffer[] => published.get(topic) ?? [];
  await bus.subscribe('stage-test-watcher', ALL_TOPICS, (message) => {
    seen(message.topic).push(message.value);
    return Promise.resolve();
  });
  await startStage(definition, { bus, log: pino({ level: 'silent' }), retry: QUICK_RETRY, metrics: new Registry() });
  const atLeast = (topic: Topic, count: number) =>
    waitUntil(() => (seen(topic).length >= count ? seen(topic) : false), {
      timeoutMs: 20_000,
      intervalMs: 20,
      description: `${count} message(s) on ${topic}`,
    });
  return {
    publish: (event) => bus.publish(event.type, [{ key: event.imageId, value: encodeEvent(event) }]),
    events: async <E extends EventType>(topic: E, count = 1) =>
      (await atLeast(topic, count)).map((value) => decodeEvent(value) as EventOf<E>),
    deadLetters: async (count = 1) =>
      (await atLeast(TOPICS.deadLetter, count)).map((value) => deadLetterSchema.parse(JSON.parse(value.toString('utf8')))),
    seen,
  };
}

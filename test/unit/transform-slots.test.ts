import test from 'ava';
import { DomainError } from '../../lib/errors.ts';
import { answerOf } from '../support/error-answer.ts';
import { TransformSlots, type SlotInput, type SlotRequest } from '../../lib/transform/transform-slots.ts';

const HEAVY = 5000;
const CHEAP = 50;
const MB = 1024 * 1024;
const settings = {
  concurrency: 2,
  queueLength: 64,
  heavyCost: 1000,
  budget: { maxCpuMs: 20_000, maxMemoryBytes: 768 * MB },
  readAheadBytes: 96 * MB,
};

/** A transformation the test finishes when it wants, recording when it started. */
class Job {
  started = false;
  #finish: () => void = () => undefined;
  readonly done: Promise<string>;

  constructor(
    slots: TransformSlots,
    readonly name: string,
    request: SlotRequest,
    readonly order: string[],
  ) {
    this.done = slots.run(request, () => {
      this.started = true;
      order.push(name);
      return new Promise<string>((resolve) => {
        this.#finish = () => {
          resolve(name);
        };
      });
    });
  }

  async finish(): Promise<void> {
    this.#finish();
    await this.done;
  }
}

const request = (tenant: string, cpuMs: number, deadlineMs = 60_000, memoryMb = 10): SlotRequest => ({
  tenant,
  estimate: { cpuMs, memoryBytes: memoryMb * MB },
  deadline: Date.now() + deadlineMs,
});

/** Lets every promise chain that can move on do so (setImmediate runs once the microtask queue is empty). */
async function settle(): Promise<void> {
  await new Promise<void>((resolve) => {
    setImmediate(resolve);
  });
}

test('ten heavy transformations and then a cheap one: the cheap one starts at once in its own lane, whoever sent the heavy ones', async (t) => {
  for (const cheapTenant of ['acme', 'other']) {
    for (const concurrency of [1, 2]) {
      const slots = new TransformSlots({ ...settings, concurrency });
      const order: string[] = [];
      const heavy = Array.from({ length: 10 }, (_, index) => new Job(slots, `heavy-${index}`, request('acme', HEAVY), order));
      await settle();
      t.deepEqual(
        order,
        heavy.slice(0, concurrency).map((job) => job.name),
        'heavy work holds its lane',
      );
      const cheap = new Job(slots, 'cheap', request(cheapTenant, CHEAP), order);
      await settle();
      t.true(cheap.started, `${cheapTenant}, ${concurrency} slots`);
      await cheap.finish();
      for (const job of heavy) await job.finish();
      t.deepEqual(order, [
        ...heavy.slice(0, concurrency).map((job) => job.name),
        'cheap',
        ...heavy.slice(concurrency).map((job) => job.name),
      ]);
    }
  }
});

test('cheap work waits only for the cheap work ahead of it', async (t) => {
  const slots = new TransformSlots({ ...settings, concurrency: 1 });
  const order: string[] = [];
  const heavy = new Job(slots, 'heavy', request('acme', HEAVY), order);
  const first = new Job(slots, 'first', request('acme', CHEAP), order);
  const second = new Job(slots, 'second', request('other', CHEAP), order);
  await settle();
  t.deepEqual(order, ['heavy', 'first']);
  await first.finish();
  await settle();
  t.deepEqual(order, ['heavy', 'first', 'second'], 'the heavy one is still running');
  await second.finish();
  await heavy.finish();
});

test("tenants take turns: one tenant's queue of heavy work does not hold back another tenant's", async (t) => {
  const slots = new TransformSlots({ ...settings, concurrency: 1 });
  const order: string[] = [];
  const jobs = [
    ...Array.from({ length: 4 }, (_, index) => new Job(slots, `acme-${index}`, request('acme', HEAVY), order)),
    ...Array.from({ length: 2 }, (_, index) => new Job(slots, `other-${index}`, request('other', HEAVY), order)),
  ];
  const byName = new Map(jobs.map((job) => [job.name, job]));
  while (order.length < jobs.length) {
    await settle();
    await byName.get(order.at(-1) ?? '')?.finish();
  }
  t.deepEqual(order, ['acme-0', 'other-0', 'acme-1', 'other-1', 'acme-2', 'acme-3']);
});

test('a transformation over the cost budget is refused before it waits: 422 too_costly naming the estimate and the limit', async (t) => {
  const slots = new TransformSlots(settings);
  const error = await t.throwsAsync(
    slots.run(request('acme', 25_000), () => Promise.resolve('never')),
    { instanceOf: DomainError },
  );
  t.like(answerOf(error), { status: 422, code: 'too_costly', details: { estimatedCostMs: 25_000, maxCostMs: 20_000 } });
});

test('a transformation needing more memory than the budget is refused before it waits: 422 too_costly naming both', async (t) => {
  const slots = new TransformSlots(settings);
  const error = await t.throwsAsync(
    slots.run(request('acme', CHEAP, 60_000, 3000), () => Promise.resolve('never')),
    { instanceOf: DomainError },
  );
  t.like(answerOf(error), { status: 422, code: 'too_costly', details: { estimatedMemoryMb: 3000, maxMemoryMb: 768 } });
});

test('transformations run together only while their memory fits the budget: a free slot waits for memory', async (t) => {
  const slots = new TransformSlots(settings);
  const order: string[] = [];
  const big = new Job(slots, 'big', request('acme', CHEAP, 60_000, 500), order);
  const second = new Job(slots, 'second', request('other', CHEAP, 60_000, 500), order);
  const small = new Job(slots, 'small', request('third', CHEAP, 60_000, 100), order);
  await settle();
  t.deepEqual(order, ['big', 'small'], 'the second 500 MB waits; 100 MB fits beside the first');
  await small.finish();
  await settle();
  t.false(second.started);
  await big.finish();
  await settle();
  t.true(second.started);
  await second.finish();
});

test('a request whose expected wait passes its deadline is refused at once: 503 with Retry-After', async (t) => {
  const slots = new TransformSlots(settings);
  const order: string[] = [];
  const heavy = Array.from({ length: 6 }, (_, index) => new Job(slots, `heavy-${index}`, request('acme', HEAVY), order));
  // Four heavy ones wait: 20,000 estimated ms on the two slots of their lane, then 5,000 of its own.
  const error = await t.throwsAsync(
    slots.run(request('other', HEAVY, 14_000), () => Promise.resolve('never')),
    { instanceOf: DomainError },
  );
  t.like(answerOf(error), { status: 503, code: 'overloaded' });
  t.is(answerOf(error).headers['Retry-After'], '10');
  for (const job of heavy) await job.finish();
});

test('a request still waiting at its deadline is answered then: 503 transform_timeout, and it never runs', async (t) => {
  const slots = new TransformSlots({ ...settings, concurrency: 1 });
  const order: string[] = [];
  const running = new Job(slots, 'running', request('acme', CHEAP), order);
  const late = new Job(slots, 'late', request('acme', 1, 100), order);
  const error = await t.throwsAsync(late.done, { instanceOf: DomainError });
  t.like(answerOf(error), { status: 503, code: 'transform_timeout' });
  await running.finish();
  t.deepEqual(order, ['running']);
  t.is(slots.waiting, 0);
});

test('a full queue refuses at once: 503 overloaded', async (t) => {
  const slots = new TransformSlots({ ...settings, concurrency: 1, queueLength: 1 });
  const order: string[] = [];
  const jobs = [new Job(slots, 'running', request('acme', CHEAP), order), new Job(slots, 'waiting', request('acme', CHEAP), order)];
  await t.throwsAsync(
    slots.run(request('acme', CHEAP), () => Promise.resolve('never')),
    { instanceOf: DomainError, message: /1 transformations are running and 1 waiting/ },
  );
  for (const job of jobs) await job.finish();
});

/** An input of `megabytes` whose reads are counted. */
function counted<I>(megabytes: number, read: () => Promise<I>): SlotInput<I> & { reads: number } {
  const input = {
    bytes: megabytes * MB,
    reads: 0,
    read: () => {
      input.reads += 1;
      return read();
    },
  };
  return input;
}

test('a request waiting for a turn reads its input meanwhile, and runs on it once a slot is free', async (t) => {
  const slots = new TransformSlots({ ...settings, concurrency: 1 });
  const order: string[] = [];
  const running = new Job(slots, 'running', request('acme', CHEAP), order);
  const master = counted(1, () => Promise.resolve('the master'));
  const loaded = slots.runLoaded(request('acme', CHEAP), master, (input) => {
    order.push(`loaded: ${input}`);
    return Promise.resolve(input.length);
  });
  await settle();
  t.is(master.reads, 1, 'read while the slot is taken');
  t.deepEqual(order, ['running']);
  await running.finish();
  t.is(await loaded, 'the master'.length);
  t.deepEqual(order, ['running', 'loaded: the master']);
});

test('what waiting requests read ahead stays within readAheadBytes; the others read when their turn comes', async (t) => {
  const slots = new TransformSlots({ ...settings, concurrency: 1, readAheadBytes: 10 * MB });
  const order: string[] = [];
  const running = new Job(slots, 'running', request('acme', CHEAP), order);
  const masters = [6, 4, 1].map((megabytes) => counted(megabytes, () => Promise.resolve(`${megabytes} MB`)));
  const waiting = masters.map((master) => slots.runLoaded(request('acme', CHEAP), master, (input) => Promise.resolve(input)));
  await settle();
  t.deepEqual(
    masters.map((master) => master.reads),
    [1, 1, 0],
    '6 + 4 MB read ahead; 1 MB more would pass the 10',
  );
  await running.finish();
  t.deepEqual(await Promise.all(waiting), ['6 MB', '4 MB', '1 MB']);
  t.deepEqual(
    masters.map((master) => master.reads),
    [1, 1, 1],
  );
});

test('a request refused reads nothing; one whose read fails frees its slot for the next', async (t) => {
  const slots = new TransformSlots({ ...settings, concurrency: 1, queueLength: 1 });
  const order: string[] = [];
  const running = new Job(slots, 'running', request('acme', CHEAP), order);
  const failingRead = counted(1, () => Promise.reject(new Error('the blob store did not answer')));
  const failing = slots.runLoaded(request('acme', CHEAP), failingRead, () => Promise.resolve('never'));
  const refusedRead = counted(1, () => Promise.resolve('refused'));
  await t.throwsAsync(
    slots.runLoaded(request('acme', CHEAP), refusedRead, () => Promise.resolve('never')),
    { instanceOf: DomainError, message: /1 transformations are running and 1 waiting/ },
  );
  t.is(refusedRead.reads, 0);
  await running.finish();
  await t.throwsAsync(failing, { message: 'the blob store did not answer' });
  const next = new Job(slots, 'next', request('acme', CHEAP), order);
  await settle();
  t.true(next.started);
  await next.finish();
  t.is(slots.running, 0);
});

test('a request that waits past its deadline drops what it read, and its read-ahead bytes are free again', async (t) => {
  const slots = new TransformSlots({ ...settings, concurrency: 1, readAheadBytes: 5 * MB });
  const order: string[] = [];
  const running = new Job(slots, 'running', request('acme', CHEAP), order);
  const late = slots.runLoaded(
    request('acme', 1, 50),
    counted(5, () => Promise.reject(new Error('read failed too'))),
    () => Promise.resolve('never'),
  );
  const error = await t.throwsAsync(late, { instanceOf: DomainError });
  t.like(answerOf(error), { status: 503, code: 'transform_timeout' });
  const next = counted(5, () => Promise.resolve('read ahead'));
  const after = slots.runLoaded(request('acme', CHEAP), next, (input) => Promise.resolve(input));
  await settle();
  t.is(next.reads, 1, 'the 5 MB of the late request were given back');
  await running.finish();
  t.is(await after, 'read ahead');
  t.deepEqual(order, ['running']);
});

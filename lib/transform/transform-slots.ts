import { DeadlineExceededError, OverloadedError } from '../errors.ts';
import { assertAffordable, type TransformBudget, type TransformEstimate } from './cost.ts';

/** What the scheduler knows of a transformation before it runs. */
export interface SlotRequest {
  /** Whose request it is: tenants take turns. */
  readonly tenant: string;
  /** Its estimated cost (lib/transform/cost.ts). */
  readonly estimate: TransformEstimate;
  /** Epoch milliseconds by which it must be done, counted from the request's arrival: time in the queue counts. */
  readonly deadline: number;
}

export interface SlotSettings {
  /** Transformations running at once. */
  readonly concurrency: number;
  /** Transformations that may wait for a turn; past that a request is refused at once. */
  readonly queueLength: number;
  /** The estimated CPU milliseconds from which a transformation is heavy. */
  readonly heavyCost: number;
  /** Past which a transformation is refused (422 too_costly); the memory is also what those running together may hold. */
  readonly budget: TransformBudget;
  /** Bytes of input that requests waiting for a turn may have read ahead (runLoaded); past it, the others read when their turn comes. */
  readonly readAheadBytes: number;
}

/** Work's input and how large it is before it is read (a stored master's size is in its record). */
export interface SlotInput<I> {
  readonly bytes: number;
  read(): Promise<I>;
}

interface Waiter {
  readonly request: SlotRequest;
  readonly heavy: boolean;
  readonly start: () => void;
  readonly timer: NodeJS.Timeout;
}

/** A tenant with work running or waiting, and its place in the turns. */
interface ActiveTenant {
  readonly light: Waiter[];
  readonly heavy: Waiter[];
  running: number;
  /** When it last started work (a sequence number); 0 since it became active: it has its turn first. */
  lastStart: number;
  readonly joined: number;
}

/** How fast the measured time of finished work moves the estimate's calibration. */
const CALIBRATION_WEIGHT = 0.2;

const classOf = (heavy: boolean): 'light' | 'heavy' => (heavy ? 'heavy' : 'light');

const overloaded = (message: string, waitMs: number, details: Record<string, unknown>): OverloadedError =>
  new OverloadedError(message, details, Math.max(1, Math.ceil(waitMs / 1000)));

/**
 * How many transformations a process runs at once, and in what order the
 * others get a turn:
 * - Work over the budget (CPU or memory) is refused before it waits (422),
 *   and work starts only while the memory estimated for all that runs fits
 *   the budget.
 * - Cheap and heavy work (estimated at `heavyCost` or more) have a lane of
 *   `concurrency` slots each, so a cheap request waits at most for the cheap
 *   ones ahead of it, never behind a heavy one, and heavy work still has
 *   every core when no cheap work comes.
 * - Tenants take turns, and within a tenant cheap work goes first: neither
 *   another tenant nor its own heavy requests starve a tenant's cheap ones.
 * - A request whose expected wait would pass its deadline is refused at once
 *   (503, Retry-After), and one still waiting at its deadline is answered then
 *   (503): a client retrying later costs less than a process holding
 *   thousands of decoded images in memory.
 */
export class TransformSlots {
  /** The transformations running, by lane. */
  readonly #running = { light: 0, heavy: 0 };
  /** Estimated bytes held by the transformations running. */
  #memoryInUse = 0;
  /** Bytes of input read ahead by the requests waiting for a turn. */
  #readAheadBytes = 0;
  /** Tenants with work running or waiting. */
  readonly #tenants = new Map<string, ActiveTenant>();
  #sequence = 0;
  /** Measured milliseconds per estimated millisecond of one core, learned from finished heavy work (a cheap one's time is mostly overhead). */
  #msPerCost = 1;
  /** The work waiting, by class: how many, and their estimated cost. */
  readonly #waiting = { light: { count: 0, cost: 0 }, heavy: { count: 0, cost: 0 } };

  constructor(readonly settings: SlotSettings) {}

  get concurrency(): number {
    return this.settings.concurrency;
  }

  get running(): number {
    return this.#running.light + this.#running.heavy;
  }

  get waiting(): number {
    return this.#waiting.light.count + this.#waiting.heavy.count;
  }

  /** @throws TooCostlyError over the budget, OverloadedError or DeadlineExceededError (transform_timeout) when it cannot be done in time */
  run<T>(request: SlotRequest, work: () => Promise<T>): Promise<T> {
    return this.#run(request, work);
  }

  /**
   * As `run`, for work whose input must be read first (a stored master): a
   * request that waits for its turn reads its input meanwhile, so that a
   * slot others wait for is not held while a disk or the network answers,
   * as long as what the waiting requests read ahead stays within
   * `readAheadBytes`; the others read when their turn comes. Nothing is read
   * for a request refused.
   */
  async runLoaded<I, T>(request: SlotRequest, input: SlotInput<I>, work: (input: I) => Promise<T>): Promise<T> {
    let readAhead: Promise<I> | undefined;
    let held = 0;
    const release = (): void => {
      this.#readAheadBytes -= held;
      held = 0;
    };
    const whileWaiting = (): void => {
      if (this.#readAheadBytes + input.bytes > this.settings.readAheadBytes) return;
      held = input.bytes;
      this.#readAheadBytes += held;
      readAhead = Promise.resolve().then(() => input.read());
      // Awaited when the turn comes; a request that never gets one drops what it read.
      readAhead.catch(() => undefined);
    };
    try {
      return await this.#run(
        request,
        async () => {
          release();
          return work(await (readAhead ?? input.read()));
        },
        whileWaiting,
      );
    } finally {
      release();
    }
  }

  /** `whileWaiting` is called once a request is admitted to wait for its turn. */
  async #run<T>(request: SlotRequest, work: () => Promise<T>, whileWaiting?: () => void): Promise<T> {
    assertAffordable(request.estimate, this.settings.budget);
    const heavy = request.estimate.cpuMs >= this.settings.heavyCost;
    const tenant = this.#activate(request.tenant);
    if (this.#waiting[classOf(heavy)].count === 0 && this.#canStart(request, heavy)) this.#start(tenant, request, heavy);
    else {
      const turn = this.#wait(tenant, request, heavy);
      whileWaiting?.();
      await turn;
    }
    const startedAt = Date.now();
    try {
      return await work();
    } finally {
      if (heavy) this.#calibrate(request.estimate.cpuMs, Date.now() - startedAt);
      this.#running[classOf(heavy)] -= 1;
      this.#memoryInUse -= request.estimate.memoryBytes;
      tenant.running -= 1;
      this.#deactivateIfIdle(request.tenant, tenant);
      this.#dispatch();
    }
  }

  #activate(name: string): ActiveTenant {
    let tenant = this.#tenants.get(name);
    if (tenant === undefined) {
      tenant = { light: [], heavy: [], running: 0, lastStart: 0, joined: (this.#sequence += 1) };
      this.#tenants.set(name, tenant);
    }
    return tenant;
  }

  #deactivateIfIdle(name: string, tenant: ActiveTenant): void {
    if (tenant.running === 0 && tenant.light.length === 0 && tenant.heavy.length === 0) this.#tenants.delete(name);
  }

  #canStart(request: SlotRequest, heavy: boolean): boolean {
    return (
      this.#running[classOf(heavy)] < this.settings.concurrency &&
      this.#memoryInUse + request.estimate.memoryBytes <= this.settings.budget.maxMemoryBytes
    );
  }

  #start(tenant: ActiveTenant, request: SlotRequest, heavy: boolean): void {
    this.#running[classOf(heavy)] += 1;
    this.#memoryInUse += request.estimate.memoryBytes;
    tenant.running += 1;
    tenant.lastStart = this.#sequence += 1;
  }

  #calibrate(cost: number, tookMs: number): void {
    if (cost <= 0) return;
    this.#msPerCost += CALIBRATION_WEIGHT * (tookMs / cost - this.#msPerCost);
  }

  /** The wait before work of this class would start: the work ahead of it in its lane, shared over the lane's slots. */
  #expectedWaitMs(heavy: boolean): number {
    return (this.#waiting[classOf(heavy)].cost / this.settings.concurrency) * this.#msPerCost;
  }

  #wait(tenant: ActiveTenant, request: SlotRequest, heavy: boolean): Promise<void> {
    const refusal = this.#refusal(request, heavy);
    if (refusal !== null) {
      this.#deactivateIfIdle(request.tenant, tenant);
      throw refusal;
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        request,
        heavy,
        start: resolve,
        timer: setTimeout(() => {
          this.#remove(tenant, waiter);
          reject(new DeadlineExceededError('the transformation waited for a turn past its deadline'));
        }, request.deadline - Date.now()),
      };
      (heavy ? tenant.heavy : tenant.light).push(waiter);
      const waiting = this.#waiting[classOf(heavy)];
      waiting.count += 1;
      waiting.cost += request.estimate.cpuMs;
      // Work ahead of it may be waiting for memory this one does not need.
      this.#dispatch();
    });
  }

  /** Why a request may not wait for a turn: the queue is full, or its turn would come too late. */
  #refusal(request: SlotRequest, heavy: boolean): OverloadedError | null {
    const state = { running: this.running, waiting: this.waiting };
    if (this.waiting >= this.settings.queueLength) {
      return overloaded(`${state.running} transformations are running and ${state.waiting} waiting: try again shortly`, 1000, state);
    }
    const expectedWaitMs = this.#expectedWaitMs(heavy);
    if (Date.now() + expectedWaitMs + request.estimate.cpuMs * this.#msPerCost <= request.deadline) return null;
    return overloaded(
      `the transformations queued ahead would take about ${Math.ceil(expectedWaitMs)} ms: past this request's deadline`,
      expectedWaitMs,
      {
        ...state,
        expectedWaitMs: Math.ceil(expectedWaitMs),
      },
    );
  }

  #remove(tenant: ActiveTenant, waiter: Waiter): void {
    const list = waiter.heavy ? tenant.heavy : tenant.light;
    const at = list.indexOf(waiter);
    if (at < 0) return;
    clearTimeout(waiter.timer);
    list.splice(at, 1);
    const waiting = this.#waiting[classOf(waiter.heavy)];
    waiting.count -= 1;
    waiting.cost -= waiter.request.estimate.cpuMs;
    this.#deactivateIfIdle(waiter.request.tenant, tenant);
  }

  /** Starts waiting work while slots are free: the tenant whose turn it is, its cheap work before its heavy work. */
  #dispatch(): void {
    for (;;) {
      const next = this.#nextStartable();
      if (next === undefined) return;
      const [tenant, waiter] = next;
      this.#remove(tenant, waiter);
      this.#start(tenant, waiter.request, waiter.heavy);
      waiter.start();
    }
  }

  /** The tenants in turn order: the longest since it last started work first (one that has not since it became active, by arrival). */
  #nextStartable(): [ActiveTenant, Waiter] | undefined {
    const turns = [...this.#tenants.values()].sort((a, b) => a.lastStart - b.lastStart || a.joined - b.joined);
    for (const tenant of turns) {
      const light = tenant.light[0];
      if (light !== undefined && this.#canStart(light.request, false)) return [tenant, light];
      const heavy = tenant.heavy[0];
      if (heavy !== undefined && this.#canStart(heavy.request, true)) return [tenant, heavy];
    }
    return undefined;
  }
}

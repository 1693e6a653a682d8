import { Counter, type Registry } from 'prom-client';
import type { Tenant } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { ImageStats, ImageStatsCollection } from './image-stats.ts';

interface PendingHits {
  readonly tenant: Tenant;
  hits: number;
  readonly byRendition: Map<string, number>;
}

export interface HitCounterOptions {
  readonly stats: ImageStatsCollection;
  /** Flush at least this often … */
  readonly flushEveryMs: number;
  /** … and as soon as this many hits are pending. */
  readonly flushAfterHits: number;
  readonly log: Logger;
  readonly metrics: Registry;
}

const MAX_CONFLICTS = 20;

function added(current: ImageStats | undefined, id: string, pending: PendingHits): ImageStats {
  const byRendition = new Map((current?.byRendition ?? []).map(({ rendition, hits }) => [rendition, hits]));
  for (const [rendition, hits] of pending.byRendition) byRendition.set(rendition, (byRendition.get(rendition) ?? 0) + hits);
  return {
    id,
    tenant: pending.tenant,
    hits: (current?.hits ?? 0) + pending.hits,
    byRendition: [...byRendition].map(([rendition, hits]) => ({ rendition, hits })),
    updatedAt: new Date().toISOString(),
  };
}

/**
 * Counts hits in memory and adds them to the image_stats collection in bulk:
 * one compare-and-set per image with hits since the last flush, every
 * `flushEveryMs` or once `flushAfterHits` are pending — never a write per
 * request. Hits of a flush that failed are kept for the next one.
 */
export class HitCounter {
  readonly #options: HitCounterOptions;
  #pending = new Map<string, PendingHits>();
  #pendingHits = 0;
  #flushing: Promise<void> | null = null;
  readonly #timer: NodeJS.Timeout;
  readonly #writes: Counter;

  constructor(options: HitCounterOptions) {
    this.#options = options;
    this.#writes = new Counter({
      name: 'progimage_stats_writes_total',
      help: 'Writes of hit statistics to the catalog store',
      registers: [options.metrics],
    });
    this.#timer = setInterval(() => {
      void this.flush();
    }, options.flushEveryMs);
    this.#timer.unref();
  }

  record(image: { readonly id: string; readonly tenant: Tenant }, rendition: string): void {
    let pending = this.#pending.get(image.id);
    if (pending === undefined) {
      pending = { tenant: image.tenant, hits: 0, byRendition: new Map() };
      this.#pending.set(image.id, pending);
    }
    pending.hits += 1;
    pending.byRendition.set(rendition, (pending.byRendition.get(rendition) ?? 0) + 1);
    this.#pendingHits += 1;
    if (this.#pendingHits >= this.#options.flushAfterHits) void this.flush();
  }

  /** The stored statistics of an image plus this process's hits not flushed yet. */
  async statsOf(id: string, tenant: Tenant): Promise<ImageStats> {
    const stored = (await this.#options.stats.get(id))?.document;
    const pending = this.#pending.get(id);
    if (pending === undefined) return stored ?? { id, tenant, hits: 0, byRendition: [], updatedAt: new Date(0).toISOString() };
    return added(stored, id, pending);
  }

  /** Writes the pending hits; a flush already under way is waited for, then this one runs. */
  async flush(): Promise<void> {
    while (this.#flushing !== null) await this.#flushing;
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#pendingHits = 0;
    this.#flushing = this.#write(batch).finally(() => {
      this.#flushing = null;
    });
    await this.#flushing;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  async #write(batch: ReadonlyMap<string, PendingHits>): Promise<void> {
    for (const [id, pending] of batch) {
      try {
        await this.#add(id, pending);
      } catch (error) {
        this.#options.log.warn({ err: error, imageId: id }, 'flushing hit statistics failed; kept for the next flush');
        this.#merge(id, pending);
      }
    }
  }

  async #add(id: string, pending: PendingHits): Promise<void> {
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt += 1) {
      const current = await this.#options.stats.get(id);
      this.#writes.inc();
      if ((await this.#options.stats.save(added(current?.document, id, pending), current?.version ?? null)) !== null) return;
    }
    throw new Error(`the statistics of ${id} kept changing under ${MAX_CONFLICTS} attempts`);
  }

  #merge(id: string, failed: PendingHits): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) {
      this.#pending.set(id, failed);
    } else {
      pending.hits += failed.hits;
      for (const [rendition, hits] of failed.byRendition)
        pending.byRendition.set(rendition, (pending.byRendition.get(rendition) ?? 0) + hits);
    }
    this.#pendingHits += failed.hits;
  }
}

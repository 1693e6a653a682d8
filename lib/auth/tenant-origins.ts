import type { TenantCollections } from './tenants.ts';

/** Tenants read per query while collecting their origins. */
const PAGE = 1000;

/**
 * The web origins that any tenant allows (its corsOrigins), for what must be
 * decided before the tenant is known: a CORS preflight carries no API key.
 * Every tenant is read at most once per `cacheMs` (the time a changed
 * setting takes to apply anywhere), and only when asked.
 */
export class TenantOrigins {
  #origins: Promise<ReadonlySet<string>> | null = null;
  #readAt = 0;

  constructor(
    private readonly collections: TenantCollections,
    private readonly cacheMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async someTenantAllows(origin: string): Promise<boolean> {
    if (this.#origins === null || this.#readAt + this.cacheMs <= this.now()) {
      this.#readAt = this.now();
      const reading = this.#read();
      this.#origins = reading;
      // A failed read is not remembered: the next request tries again.
      reading.catch(() => {
        if (this.#origins === reading) this.#origins = null;
      });
    }
    return (await this.#origins).has(origin);
  }

  async #read(): Promise<ReadonlySet<string>> {
    const origins = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const page = await this.collections.tenants.find({ limit: PAGE, ...(after === undefined ? {} : { after }) });
      for (const tenant of page) for (const origin of tenant.corsOrigins) origins.add(origin);
      if (page.length < PAGE) return origins;
      after = page[page.length - 1]?.id;
    }
  }
}

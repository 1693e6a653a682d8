import { z } from 'zod';

/**
 * What the service says about its own load while a load test runs, read
 * once a second: the pipeline's backlog from /metrics
 * (progimage_pipeline_backlog_images{stage}, when the service exposes it) and
 * /readyz's status. Nothing here depends on the metric being there: a service
 * without it is reported as such.
 */

const BACKLOG_METRIC = 'progimage_pipeline_backlog_images';
const BACKLOG_LINE = new RegExp(`^${BACKLOG_METRIC}\\{([^}]*)\\} (\\S+)$`, 'gm');
const readinessSchema = z.object({ status: z.string(), checks: z.record(z.string(), z.string()) }).loose();

export interface NotOk {
  readonly samples: number;
  readonly first: string;
  readonly last: string;
}

export interface ServiceSamples {
  readonly samples: number;
  /** Samples whose /metrics or /readyz could not be read. */
  readonly unread: number;
  /** Null when no sample had the backlog metric. */
  readonly backlog: {
    /** The largest sum over every stage in one sample, and when it was seen (epoch ms). */
    readonly maxTotal: number;
    readonly maxTotalAt: number;
    readonly maxByStage: ReadonlyMap<string, number>;
  } | null;
  /** /readyz's status → samples that said it. */
  readonly readiness: ReadonlyMap<string, number>;
  /** By check, the samples in which it was not ok, and its first and last report then. */
  readonly notOk: ReadonlyMap<string, NotOk>;
}

/** The backlog by stage in one /metrics text (series with other labels, such as a tenant's, added up); null without the metric. */
function backlogOf(metrics: string): Map<string, number> | null {
  const byStage = new Map<string, number>();
  for (const [, labels = '', value = ''] of metrics.matchAll(BACKLOG_LINE)) {
    const stage = /(?:^|,)stage="([^"]*)"/.exec(labels)?.[1] ?? '(no stage)';
    byStage.set(stage, (byStage.get(stage) ?? 0) + Number(value));
  }
  return byStage.size === 0 ? null : byStage;
}

export class ServiceSampler {
  /** The backlog's total in the last sample that had it, for progress lines. */
  lastBacklog: number | null = null;
  #samples = 0;
  #unread = 0;
  #backlog: { maxTotal: number; maxTotalAt: number; maxByStage: Map<string, number> } | null = null;
  readonly #readiness = new Map<string, number>();
  readonly #notOk = new Map<string, NotOk>();
  readonly #timer: NodeJS.Timeout;
  #inFlight: Promise<void> = Promise.resolve();

  private constructor(
    private readonly base: string,
    private readonly apiKey: string,
    intervalMs = 1000,
  ) {
    this.#timer = setInterval(() => {
      this.#inFlight = this.#inFlight.then(() => this.#sample());
    }, intervalMs);
  }

  /** Samples the service at `base` while `work` runs. */
  static async during<T>(
    base: string,
    apiKey: string,
    work: (sampler: ServiceSampler) => Promise<T>,
  ): Promise<{ result: T; samples: ServiceSamples }> {
    const sampler = new ServiceSampler(base, apiKey);
    try {
      const result = await work(sampler);
      return { result, samples: await sampler.stop() };
    } finally {
      await sampler.stop();
    }
  }

  async #sample(): Promise<void> {
    this.#samples += 1;
    try {
      const [metrics, readyz] = await Promise.all([
        fetch(`${this.base}/metrics`, { headers: { Authorization: `Bearer ${this.apiKey}` } }).then((response) => response.text()),
        fetch(`${this.base}/readyz`).then((response) => response.json()),
      ]);
      const readiness = readinessSchema.parse(readyz);
      this.#readiness.set(readiness.status, (this.#readiness.get(readiness.status) ?? 0) + 1);
      for (const [check, report] of Object.entries(readiness.checks)) {
        if (report === 'ok') continue;
        const seen = this.#notOk.get(check);
        this.#notOk.set(check, { samples: (seen?.samples ?? 0) + 1, first: seen?.first ?? report, last: report });
      }
      const byStage = backlogOf(metrics);
      if (byStage === null) return;
      const total = [...byStage.values()].reduce((sum, value) => sum + value, 0);
      this.lastBacklog = total;
      this.#backlog ??= { maxTotal: -1, maxTotalAt: 0, maxByStage: new Map() };
      if (total > this.#backlog.maxTotal) Object.assign(this.#backlog, { maxTotal: total, maxTotalAt: Date.now() });
      for (const [stage, value] of byStage) this.#backlog.maxByStage.set(stage, Math.max(value, this.#backlog.maxByStage.get(stage) ?? 0));
    } catch {
      this.#unread += 1;
    }
  }

  /** Stops sampling (the sample in flight finishes) and sums up. */
  async stop(): Promise<ServiceSamples> {
    clearInterval(this.#timer);
    await this.#inFlight;
    return { samples: this.#samples, unread: this.#unread, backlog: this.#backlog, readiness: this.#readiness, notOk: this.#notOk };
  }
}

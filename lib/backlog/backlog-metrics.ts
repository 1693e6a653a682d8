import { Gauge, type Registry } from 'prom-client';
import type { BacklogSampler } from './backlog-sampler.ts';
import { PIPELINE_STAGES } from './pipeline-images.ts';

/** A gauge of one value of the sampler's last count, without a sample while that value is not known. */
function stateGauge(registry: Registry, name: string, help: string, value: () => number | null | undefined): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      const known = value();
      if (known === null || known === undefined) this.remove();
      else this.set(known);
    },
  });
}

/** The sampler's last count as gauges: the backlog by stage, the drain rate and the expected wait (no sample before they are known). */
export function exportBacklogGauges(sampler: BacklogSampler, registry: Registry): void {
  new Gauge({
    name: 'progimage_pipeline_backlog_images',
    help: 'Images not final yet, by the stage they wait for (scan, strip, compress, variants), as last counted in the catalog',
    labelNames: ['stage'] as const,
    registers: [registry],
    collect() {
      const backlog = sampler.current()?.backlog;
      if (backlog === undefined) return;
      for (const stage of PIPELINE_STAGES) this.set({ stage }, backlog[stage]);
    },
  });
  stateGauge(
    registry,
    'progimage_pipeline_drain_images_per_second',
    'Images leaving the pipeline (becoming final) per second, smoothed over the last counts',
    () => sampler.current()?.drainPerSecond,
  );
  stateGauge(
    registry,
    'progimage_pipeline_expected_wait_seconds',
    'Seconds until the images in the pipeline have drained at the drain rate; before any drained, the least they will take',
    () => sampler.current()?.expectedWaitSeconds,
  );
}

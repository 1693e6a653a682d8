import type { ChildSettings } from './child-process.ts';
import { UsageError, wholeNumber } from './command-line.ts';
import { distributedApi } from './distributed-api.ts';
import { allInOneService, LAYOUTS, type Layout, type LayoutService } from './layout-service.ts';
import { configName, progress, type OptionValues } from './side-options.ts';

/** --layout and --copies, for the benchmarks whose service side runs in either layout (bench:cached, bench:transform). */
export const LAYOUT_USAGE = `  --layout LIST          what serves the requests, one comparison per entry (default all-in-one):
                         all-in-one   every service in one process, as npm start (embedded adapters, scanning off)
                         distributed  the API process of npm run start:distributed's layout, on the local server stack
                                      (started if needed; Kafka, MinIO, FerretDB, clamd), the image made ready by the
                                      layout's worker processes; --sharp-concurrency, --sharp-cache and --profile do not
                                      apply to it (they are the bench child's; profile its API process with
                                      bench/profile-process.ts)
  --copies N             copies of each pipeline processor in the distributed layout (default 1)`;

export const LAYOUT_OPTIONS = {
  layout: { type: 'string' },
  copies: { type: 'string' },
} as const;

export interface LayoutOptions {
  readonly layouts: readonly Layout[];
  readonly copies: number;
}

export function parseLayouts(values: OptionValues, usage: string): LayoutOptions {
  const given = typeof values.layout === 'string' ? values.layout : 'all-in-one';
  const layouts = [...new Set(given.split(',').map((name) => name.trim()))];
  if (layouts.some((name) => !(LAYOUTS as readonly string[]).includes(name))) {
    throw new UsageError(`--layout: expected ${LAYOUTS.join(', ')} or both, comma-separated, got "${given}"`, usage);
  }
  const childOnly = (['sharp-concurrency', 'sharp-cache', 'profile'] as const).filter((name) => values[name] !== undefined);
  if (layouts.includes('distributed') && childOnly.length > 0) {
    throw new UsageError(`--${childOnly.join(', --')}: not with --layout distributed (its API process runs api/main.ts as is)`, usage);
  }
  return { layouts: layouts as Layout[], copies: wholeNumber('copies', values.copies, 1, 1, usage) };
}

/** The name of a run in a report: its allocator, and its layout when that is not the default. */
export const layoutRunName = (settings: ChildSettings, layout: Layout): string =>
  layout === 'all-in-one' ? configName(settings) : `${configName(settings)}, ${layout}`;

/** The service side in `layout`: the bench's own child (all-in-one) or the distributed layout's API process. */
export const startLayoutService = (layout: Layout, settings: ChildSettings, copies: number): Promise<LayoutService> =>
  layout === 'all-in-one'
    ? allInOneService(settings)
    : distributedApi(settings, copies, (line) => {
        progress(`${layoutRunName(settings, layout)}: ${line}`);
      });

import Router from '@koa/router';
import { HttpError } from '../lib/http/errors.ts';
import { tenantOf } from '../lib/http/admission.ts';
import type { HitCounter } from './hit-counter.ts';
import { findImage, type ImageLookup } from './image-access.ts';
import type { ImageStats, ImageStatsCollection } from './image-stats.ts';
import { topQuery, type ImageStatsView } from './stats-contract.ts';

export interface StatsRoutesDependencies extends ImageLookup {
  readonly stats: ImageStatsCollection;
  readonly hits: HitCounter;
}

const PAGE_SIZE = 500;

const statsView = ({ id, hits, byRendition }: ImageStats): ImageStatsView => ({
  id,
  hits,
  byRendition: Object.fromEntries(byRendition.map((entry) => [entry.rendition, entry.hits])),
  links: { image: `/v1/images/${id}` },
});

/** Keeps the `limit` entries with the most hits seen so far. */
function keepTop(top: ImageStats[], page: readonly ImageStats[], limit: number): ImageStats[] {
  return [...top, ...page].sort((a, b) => b.hits - a.hits || (a.id < b.id ? -1 : 1)).slice(0, limit);
}

/**
 * GET /v1/images/ID/stats: an image's hits (this process's unflushed ones
 * included); GET /v1/stats/top: the most requested images, as of the last
 * flush. The store filters on equality only, so the top is a scan of the
 * tenant's statistics.
 */
export function statsRoutes({ stats, hits, ...lookup }: StatsRoutesDependencies): Router {
  const router = new Router();
  router.get('/v1/images/:id/stats', async (ctx) => {
    const image = await findImage(lookup, tenantOf(ctx), ctx.params.id ?? '');
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = statsView(await hits.statsOf(image.id, image.tenant));
  });
  router.get('/v1/stats/top', async (ctx) => {
    const query = topQuery.safeParse(ctx.query);
    if (!query.success) throw new HttpError(400, 'invalid_query', 'limit: expected a number from 1 to 1000');
    let top: ImageStats[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await stats.find({ where: { tenant: tenantOf(ctx) }, limit: PAGE_SIZE, ...(after === undefined ? {} : { after }) });
      top = keepTop(top, page, query.data.limit);
      if (page.length < PAGE_SIZE) break;
      after = page.at(-1)?.id;
    }
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = { images: top.map(statsView) };
  });
  return router;
}

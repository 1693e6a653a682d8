import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { runConcurrently } from '../lib/concurrency.ts';

/**
 * Follows accepted images until each is final (ready, failed or infected),
 * by GET /v1/images/ID. The pipeline takes images about in the order they
 * came, so each sweep reads the oldest images not yet final, a few at a time,
 * and stops at the first batch that is not all final: a backlog of thousands
 * costs about one read per image, not one per image per sweep.
 */

const FINAL_STATUSES: ReadonlySet<string> = new Set(['ready', 'failed', 'infected']);
const BATCH = 8;
const SWEEP_INTERVAL_MS = 500;
const viewSchema = z.object({ status: z.string(), updatedAt: z.string() }).loose();

export interface FinalImage {
  readonly id: string;
  readonly status: string;
  /** When the catalog recorded the image final (its updatedAt), epoch ms. */
  readonly finalAt: number;
}

export interface Drain {
  readonly finals: readonly FinalImage[];
  /** Images still not final when the time ran out. */
  readonly pending: readonly string[];
  /** Reads that answered neither 200 nor 404 (a 404 is an image the catalog has not recorded yet), by status. */
  readonly unexpected: ReadonlyMap<number, number>;
  /** When the last image was seen final, epoch ms. */
  readonly lastSeenAt: number;
}

export async function waitUntilFinal(
  base: string,
  apiKey: string,
  ids: readonly string[],
  { timeoutMs, progress }: { readonly timeoutMs: number; readonly progress: (finals: number, pending: number) => void },
): Promise<Drain> {
  let pending = [...ids];
  const finals: FinalImage[] = [];
  const unexpected = new Map<number, number>();
  let lastSeenAt = Date.now();
  const deadline = Date.now() + timeoutMs;
  let nextProgress = Date.now() + 10_000;
  const finalOf = async (id: string): Promise<FinalImage | null> => {
    const response = await fetch(`${base}/v1/images/${id}`, { headers: { Authorization: `Bearer ${apiKey}` } });
    const body = await response.text();
    if (response.status !== 200) {
      if (response.status !== 404) unexpected.set(response.status, (unexpected.get(response.status) ?? 0) + 1);
      return null;
    }
    const view = viewSchema.parse(JSON.parse(body));
    return FINAL_STATUSES.has(view.status) ? { id, status: view.status, finalAt: Date.parse(view.updatedAt) } : null;
  };
  while (pending.length > 0 && Date.now() < deadline) {
    const batch = pending.slice(0, BATCH);
    const results = await runConcurrently(batch.length, 4, (index) => finalOf(batch[index] ?? ''));
    const done = results.filter((result): result is FinalImage => result !== null);
    if (done.length > 0) lastSeenAt = Date.now();
    finals.push(...done);
    const doneIds = new Set(done.map((image) => image.id));
    pending = [...batch.filter((id) => !doneIds.has(id)), ...pending.slice(BATCH)];
    if (Date.now() >= nextProgress) {
      progress(finals.length, pending.length);
      nextProgress = Date.now() + 10_000;
    }
    if (done.length < batch.length) await sleep(SWEEP_INTERVAL_MS);
  }
  return { finals, pending, unexpected, lastSeenAt };
}

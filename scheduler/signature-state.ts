import { z } from 'zod';
import type { CatalogStore, DocumentCollection } from '../lib/ports/catalog-store.ts';

const at = z.iso.datetime();

/**
 * What the signatures job last found: clamd's signature version, since when
 * it has been in force (images scanned before then are re-scanned; it is a
 * scan deadline after the reload, to cover scans that were under way), and how
 * the last freshclam went (null when freshclam is run by something else).
 * One document, written by the signatures job only.
 */
export const signatureStateSchema = z.object({
  id: z.literal('clamd'),
  version: z.string(),
  versionSince: at,
  checkedAt: at,
  freshclam: z.object({ ok: z.boolean(), at, error: z.string().optional() }).nullable(),
});
export type SignatureState = z.infer<typeof signatureStateSchema>;

export type SignatureStateCollection = DocumentCollection<SignatureState>;

export const openSignatureState = (store: CatalogStore): Promise<SignatureStateCollection> =>
  store.collection({ name: 'signature_state', schema: signatureStateSchema });

/** For /readyz: signatures that freshclam failed to update are a degraded state, not an outage. */
export async function signatureHealth(states: SignatureStateCollection): Promise<{ degraded: string } | undefined> {
  const state = (await states.get('clamd'))?.document;
  if (state === undefined || state.freshclam === null || state.freshclam.ok) return undefined;
  return {
    degraded: `signatures not updated: freshclam failed at ${state.freshclam.at} (${state.freshclam.error ?? 'no reason'}); clamd runs signatures ${state.version} since ${state.versionSince}`,
  };
}

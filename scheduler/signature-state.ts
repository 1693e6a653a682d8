import { z } from 'zod';
import type { CatalogStore, DocumentCollection } from '../lib/ports/catalog-store.ts';

const at = z.iso.datetime();

/**
 * What the signatures job last found: clamd's signature version, when it was
 * built (null when clamd does not say), since when it has been in force (images scanned before then are re-scanned; it is a
 * scan deadline after the reload, to cover scans that were under way), and how
 * the last freshclam went (null when freshclam is run by something else).
 * One document, written by the signatures job only.
 */
export const signatureStateSchema = z.object({
  id: z.literal('clamd'),
  version: z.string(),
  versionSince: at,
  /** Absent from states recorded before it was. */
  builtAt: at.nullable().default(null),
  checkedAt: at,
  freshclam: z.object({ ok: z.boolean(), at, error: z.string().optional() }).nullable(),
});
export type SignatureState = z.infer<typeof signatureStateSchema>;

export type SignatureStateCollection = DocumentCollection<SignatureState>;

export const openSignatureState = (store: CatalogStore): Promise<SignatureStateCollection> =>
  store.collection({ name: 'signature_state', schema: signatureStateSchema });

/**
 * Signatures that freshclam failed to update, or that are older than
 * `maxAgeMs` however they are updated, are a degraded state, not an outage.
 */
export function signatureHealthOf(state: SignatureState | undefined, maxAgeMs: number, now = Date.now()): { degraded: string } | undefined {
  if (state === undefined) return undefined;
  const running = `clamd runs signatures ${state.version} since ${state.versionSince}`;
  if (state.freshclam !== null && !state.freshclam.ok) {
    return {
      degraded: `signatures not updated: freshclam failed at ${state.freshclam.at} (${state.freshclam.error ?? 'no reason'}); ${running}`,
    };
  }
  if (state.builtAt !== null && now - Date.parse(state.builtAt) > maxAgeMs) {
    return {
      degraded: `signatures out of date: built at ${state.builtAt}, more than ${Math.round(maxAgeMs / 3_600_000)} hours ago; ${running}`,
    };
  }
  return undefined;
}

/** For /readyz: the health of the signatures the signatures job last recorded. */
export async function signatureHealth(states: SignatureStateCollection, maxAgeMs: number): Promise<{ degraded: string } | undefined> {
  return signatureHealthOf((await states.get('clamd'))?.document, maxAgeMs);
}

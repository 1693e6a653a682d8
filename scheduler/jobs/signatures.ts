import { clamdCommand } from '../../lib/clamd/command.ts';
import type { ClamdConfig, SchedulerConfig } from '../../lib/config/index.ts';
import { runFreshclam } from '../freshclam.ts';
import type { Job } from '../job.ts';
import type { SignatureState, SignatureStateCollection } from '../signature-state.ts';
import { loadedSignatures } from '../signature-version.ts';

export interface SignaturesJobDependencies {
  readonly states: SignatureStateCollection;
  /** null: scanning is off, and only freshclam runs. */
  readonly clamd: ClamdConfig | null;
  readonly freshclam: SchedulerConfig['freshclam'];
  readonly schedule: string | null;
}

/** freshclam's outcome, or null when freshclam is run by something else (PROGIMAGE_FRESHCLAM=off). */
async function updateSignatures(freshclam: SchedulerConfig['freshclam']): Promise<SignatureState['freshclam']> {
  if (!freshclam.enabled) return null;
  const at = new Date().toISOString();
  return runFreshclam(freshclam).then(
    () => ({ ok: true, at }),
    (error: unknown) => ({ ok: false, at, error: error instanceof Error ? error.message : String(error) }),
  );
}

/**
 * freshclam (unless another process updates the signatures), then clamd
 * RELOAD and its signature version, recorded for the re-scan job and /readyz.
 * A failed freshclam (offline, mirror down) still reloads — signatures may
 * have been dropped into the directory by hand — and fails the run after
 * recording the failure.
 */
export function signaturesJob({ states, clamd, freshclam, schedule }: SignaturesJobDependencies): Job {
  return {
    name: 'signatures',
    description: freshclam.enabled
      ? 'freshclam, then clamd RELOAD; records the signature version'
      : 'clamd RELOAD (freshclam runs elsewhere); records the signature version',
    schedule,
    async run({ count }) {
      const update = await updateSignatures(freshclam);
      if (update !== null) count('freshclamFailed', update.ok ? 0 : 1);
      if (clamd !== null) {
        const reply = await clamdCommand(clamd, 'RELOAD');
        if (reply !== 'RELOADING') throw new Error(`clamd answered RELOAD with ${JSON.stringify(reply)}`);
        const { version, builtAt } = await loadedSignatures(clamd, freshclam.databaseDir);
        const previous = await states.get('clamd');
        const changed = previous?.document.version !== version;
        count('versionChanged', changed ? 1 : 0);
        // A scan already under way when clamd reloaded may still finish on the old signatures:
        // images scanned up to one scan deadline later count as scanned before the change.
        const since = new Date(Date.now() + clamd.timeoutMs).toISOString();
        const state: SignatureState = {
          id: 'clamd',
          version,
          versionSince: previous === null || changed ? since : previous.document.versionSince,
          builtAt,
          checkedAt: new Date().toISOString(),
          freshclam: update,
        };
        if ((await states.save(state, previous?.version ?? null)) === null) {
          throw new Error('the signature state changed while the job ran');
        }
      }
      if (update?.ok === false) throw new Error(update.error);
    },
  };
}

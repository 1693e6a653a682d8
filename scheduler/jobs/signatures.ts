import { clamdCommand } from '../../lib/clamd/command.ts';
import type { ClamdConfig, SchedulerConfig } from '../../lib/config/index.ts';
import { runFreshclam } from '../freshclam.ts';
import type { Job } from '../job.ts';
import type { SignatureState, SignatureStateCollection } from '../signature-state.ts';
import { loadedSignatureVersion } from '../signature-version.ts';

export interface SignaturesJobDependencies {
  readonly states: SignatureStateCollection;
  /** null: scanning is off, and only freshclam runs. */
  readonly clamd: ClamdConfig | null;
  readonly freshclam: SchedulerConfig['freshclam'];
  readonly schedule: string | null;
}

/**
 * freshclam, then clamd RELOAD and its signature version, recorded for the
 * re-scan job and /readyz. A failed freshclam (offline, mirror down) still
 * reloads — signatures may have been dropped into the directory by hand — and
 * fails the run after recording the failure.
 */
export function signaturesJob({ states, clamd, freshclam, schedule }: SignaturesJobDependencies): Job {
  return {
    name: 'signatures',
    description: 'freshclam, then clamd RELOAD; records the signature version',
    schedule,
    async run({ count }) {
      const at = new Date().toISOString();
      const freshclamError = await runFreshclam(freshclam).then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
      count('freshclamFailed', freshclamError === undefined ? 0 : 1);
      if (clamd !== null) {
        const reply = await clamdCommand(clamd, 'RELOAD');
        if (reply !== 'RELOADING') throw new Error(`clamd answered RELOAD with ${JSON.stringify(reply)}`);
        const version = await loadedSignatureVersion(clamd, freshclam.databaseDir);
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
          checkedAt: new Date().toISOString(),
          freshclam: { ok: freshclamError === undefined, at, ...(freshclamError === undefined ? {} : { error: freshclamError }) },
        };
        if ((await states.save(state, previous?.version ?? null)) === null) {
          throw new Error('the signature state changed while the job ran');
        }
      }
      if (freshclamError !== undefined) throw new Error(freshclamError);
    },
  };
}

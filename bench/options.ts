import { availableParallelism } from 'node:os';
import { parseCommandLine, UsageError, wholeNumber } from './command-line.ts';
import { parseSetups, SETUP_OPTIONS, SETUP_USAGE, type SetupName } from './pipeline-setups.ts';
import { DEFAULT_FIXTURE } from './side-options.ts';

/**
 * How the pipeline's uploads are started: null, a closed loop (`inFlight` at a
 * time); else an open loop at a fixed rate, in images per second or as a
 * fraction of the limit's rate measured before the pipeline in the same run.
 */
export type ArrivalRate = { readonly perSecond: number } | { readonly fractionOfLimit: number } | null;

export interface BenchOptions {
  readonly fixture: string;
  readonly images: number;
  readonly inFlight: number;
  readonly limitConcurrency: number;
  readonly setups: readonly SetupName[];
  /** Each setup is measured once per value of PROGIMAGE_CONSUMER_CONCURRENCY; null: once, with the services' default. */
  readonly consumerConcurrencies: readonly number[] | null;
  /** The servers setup in the distributed layout, once per value: copies of each processor; null: every service in one process. */
  readonly copies: readonly number[] | null;
  readonly arrivalRate: ArrivalRate;
  readonly target: number;
  /** Open loop: the p95 upload→ready, in seconds, the pipeline should stay under. */
  readonly latencyTargetSeconds: number;
}

export const USAGE = `Usage: npm run bench -- [options]

  --count N              uploads per setup, and images in the limit loop (default 200)
  --in-flight N          images between upload start and ready at a time (default 8)
  --limit-concurrency N  images the bare sharp loop works on at a time (default: CPUs, at least 3)
${SETUP_USAGE}
  --consumer-concurrency LIST
                         measure each setup once per value of PROGIMAGE_CONSUMER_CONCURRENCY,
                         e.g. 1,2,4 (default: once, with the services' default, the CPUs)
  --copies LIST          measure the servers setup in the distributed layout (every service its own
                         process, as npm run start:distributed) once per value: copies of each
                         processor, e.g. 1,2,4 (implies --servers; default: every service in one process)
  --arrival-rate R       an open loop instead of --in-flight: start an upload every 1/R s whatever is in
                         flight, R images/s (e.g. 0.7), or "half": half the limit's images/s measured
                         before the pipeline in the same run; reports p50/p95/max upload→ready
  --latency-target S     with --arrival-rate: the p95 upload→ready in seconds to stay under (default 3)
  --fixture PATH         the image to upload (default the 2725x2225 JPEG fixture)
  --target R             the ratio to the limit the pipeline should reach (default 0.8)`;

/**
 * The stages that do pixel work (strip, compress, variants). The services run
 * at most one sharp job per CPU at a time, and at least one per stage when each
 * handles one image at a time (PROGIMAGE_CONSUMER_CONCURRENCY=1); the limit gets
 * at least as many, so that it is never the side with less parallelism or a
 * smaller share of a busy machine.
 */
const PIXEL_STAGES = 3;

function ratio(value: string | undefined): number {
  if (value === undefined) return 0.8;
  const parsed = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || parsed <= 0 || parsed > 1)
    throw new UsageError(`--target: expected a ratio in (0, 1], got "${value}"`, USAGE);
  return parsed;
}

function positive(option: string, value: string): number {
  const parsed = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || !(parsed > 0)) throw new UsageError(`--${option}: expected a number above 0, got "${value}"`, USAGE);
  return parsed;
}

function arrivalRate(value: string | undefined, inFlight: string | undefined): ArrivalRate {
  if (value === undefined) return null;
  if (inFlight !== undefined) throw new UsageError('--arrival-rate and --in-flight: give one or the other (open or closed loop)', USAGE);
  return value === 'half' ? { fractionOfLimit: 0.5 } : { perSecond: positive('arrival-rate', value) };
}

function wholeNumbers(option: string, value: string | undefined): number[] | null {
  if (value === undefined) return null;
  const values = value.split(',').map((entry) => entry.trim());
  if (values.some((entry) => !/^[1-9]\d*$/.test(entry))) {
    throw new UsageError(`--${option}: expected comma-separated whole numbers of at least 1, got "${value}"`, USAGE);
  }
  return values.map(Number);
}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions | 'help' {
  const values = parseCommandLine(
    argv,
    {
      ...SETUP_OPTIONS,
      count: { type: 'string' },
      'in-flight': { type: 'string' },
      'limit-concurrency': { type: 'string' },
      'consumer-concurrency': { type: 'string' },
      copies: { type: 'string' },
      'arrival-rate': { type: 'string' },
      'latency-target': { type: 'string' },
      fixture: { type: 'string' },
      target: { type: 'string' },
    },
    USAGE,
  );
  if (values === 'help') return 'help';
  const copies = wholeNumbers('copies', values.copies);
  const setups = parseSetups(values, env, USAGE);
  return {
    fixture: values.fixture ?? DEFAULT_FIXTURE,
    images: wholeNumber('count', values.count, 200, 1, USAGE),
    inFlight: wholeNumber('in-flight', values['in-flight'], 8, 1, USAGE),
    limitConcurrency: wholeNumber(
      'limit-concurrency',
      values['limit-concurrency'],
      Math.max(availableParallelism(), PIXEL_STAGES),
      1,
      USAGE,
    ),
    setups: copies === null || setups.includes('servers') ? setups : [...setups, 'servers'],
    consumerConcurrencies: wholeNumbers('consumer-concurrency', values['consumer-concurrency']),
    copies,
    arrivalRate: arrivalRate(values['arrival-rate'], values['in-flight']),
    target: ratio(values.target),
    latencyTargetSeconds: values['latency-target'] === undefined ? 3 : positive('latency-target', values['latency-target']),
  };
}

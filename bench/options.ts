import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export type SetupName = 'embedded' | 'servers';

export interface BenchOptions {
  readonly fixture: string;
  readonly images: number;
  readonly inFlight: number;
  readonly limitConcurrency: number;
  readonly setups: readonly SetupName[];
  readonly pollIntervalMs: number;
  readonly target: number;
}

export const USAGE = `Usage: npm run bench -- [options]

  --count N              uploads per setup, and images in the limit loop (default 200)
  --in-flight N          images between upload start and ready at a time (default 8)
  --limit-concurrency N  images the bare sharp loop works on at a time (default: CPUs, at least 3)
  --servers              also measure on the real local stack (or the servers PROGIMAGE_* names);
                         the same as BENCH_SERVERS=1
  --setups LIST          embedded, servers or embedded,servers (default embedded)
  --poll-ms N            interval between status polls of one image (default 100)
  --fixture PATH         the image to upload (default the 2725x2225 JPEG fixture)
  --target R             the ratio to the limit the pipeline should reach (default 0.6)`;

/**
 * The stages that do pixel work (strip, compress, variants). Each handles one
 * image at a time, so the pipeline has at most this many sharp operations in
 * flight; the limit gets at least as many (and at least one per CPU), so that
 * it is never the side with less parallelism or a smaller share of a busy machine.
 */
const PIXEL_STAGES = 3;

const DEFAULT_FIXTURE = fileURLToPath(new URL('../../shared/fixtures/images/2569067123_aca715a2ee_o.jpg', import.meta.url));

/** A bad option: the message names it and what it accepts. */
export class UsageError extends Error {
  constructor(message: string) {
    super(`${message}\n\n${USAGE}`);
    this.name = 'UsageError';
  }
}

function wholeNumber(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`--${name}: expected a whole number of at least ${min}, got "${value}"`);
  return Number(value);
}

function ratio(value: string | undefined): number {
  if (value === undefined) return 0.6;
  const parsed = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || parsed <= 0 || parsed > 1) throw new UsageError(`--target: expected a ratio in (0, 1], got "${value}"`);
  return parsed;
}

function setupList(value: string | undefined, servers: boolean): SetupName[] {
  const names = (value ?? 'embedded').split(',').map((name) => name.trim()).filter((name) => name !== '');
  const known: readonly string[] = ['embedded', 'servers'];
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new UsageError(`--setups: expected embedded, servers or both, comma-separated, got "${value ?? ''}"`);
  }
  const setups = new Set(names as SetupName[]);
  if (servers) setups.add('servers');
  return [...setups];
}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        count: { type: 'string' },
        'in-flight': { type: 'string' },
        'limit-concurrency': { type: 'string' },
        servers: { type: 'boolean' },
        setups: { type: 'string' },
        'poll-ms': { type: 'string' },
        fixture: { type: 'string' },
        target: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help === true) return 'help';
  return {
    fixture: values.fixture ?? DEFAULT_FIXTURE,
    images: wholeNumber('count', values.count, 200, 1),
    inFlight: wholeNumber('in-flight', values['in-flight'], 8, 1),
    limitConcurrency: wholeNumber('limit-concurrency', values['limit-concurrency'], Math.max(availableParallelism(), PIXEL_STAGES), 1),
    setups: setupList(values.setups, values.servers === true || env.BENCH_SERVERS === '1'),
    pollIntervalMs: wholeNumber('poll-ms', values['poll-ms'], 100, 1),
    target: ratio(values.target),
  };
}

import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Allocator, BenchChild, ChildSettings } from './child-process.ts';
import { UsageError, wholeNumber } from './command-line.ts';
import { fixed } from './stats.ts';

/**
 * Options and report lines shared by the benchmarks that run the service in
 * a process of its own (bench/child-process.ts): bench/transform-throughput.ts,
 * bench/cached-get.ts, bench/soak.ts, bench/upload-load.ts.
 */

export const DEFAULT_FIXTURE = fileURLToPath(new URL('../../shared/fixtures/images/2569067123_aca715a2ee_o.jpg', import.meta.url));

/** The settings every side's process starts with. */
export const CHILD_SETTINGS_USAGE = `  --malloc LIST          glibc, jemalloc or glibc,jemalloc: the allocator of the processes, one
                         comparison per entry (jemalloc is LD_PRELOAD of /usr/lib/x86_64-linux-gnu/libjemalloc.so.2) (default glibc)
  --sharp-concurrency N  sharp.concurrency(N) in the processes (default: sharp's own, 1 on glibc, the CPUs with jemalloc)
  --sharp-cache on|off   libvips' operation cache (default on, sharp's default)
  --threadpool N         UV_THREADPOOL_SIZE of the processes (default: inherited; libuv's default is 4)
  --transform-slots N    the service's PROGIMAGE_MAX_CONCURRENT_TRANSFORMS (default: the service's own)
  --profile DIR          write a V8 CPU profile of each measured window of each process to DIR
                         (summarise with npx tsx bench/profile-summary.ts FILE; profiling slows the sides)`;

/** The settings every side's process starts with, and the image. */
export const PROCESS_USAGE = `${CHILD_SETTINGS_USAGE}
  --fixture PATH         the image (default the 2725x2225 JPEG fixture)`;

export const SETTINGS_USAGE = `${PROCESS_USAGE}
  --rounds N             rounds; each measures every side, in alternating order (default 6 for
                         bench:transform, 4 for bench:cached)
  --target R             the ratio the service should reach`;

export interface SharedOptions {
  readonly configs: readonly ChildSettings[];
  readonly rounds: number;
  readonly target: number;
  readonly fixture: string;
}

export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

/** The parseArgs declarations of the settings every side's process starts with. */
export const CHILD_OPTIONS = {
  malloc: { type: 'string' },
  'sharp-concurrency': { type: 'string' },
  'sharp-cache': { type: 'string' },
  threadpool: { type: 'string' },
  'transform-slots': { type: 'string' },
  profile: { type: 'string' },
} as const;

/** The parseArgs declarations of the shared options. */
export const SHARED_OPTIONS = {
  ...CHILD_OPTIONS,
  rounds: { type: 'string' },
  target: { type: 'string' },
  fixture: { type: 'string' },
} as const;

function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** One ChildSettings per allocator --malloc names, each with the other settings. */
export function parseChildSettings(values: OptionValues, usage: string): ChildSettings[] {
  const allocators = (stringOption(values, 'malloc') ?? 'glibc')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (allocators.length === 0 || allocators.some((name) => name !== 'glibc' && name !== 'jemalloc')) {
    throw new UsageError(`--malloc: expected glibc, jemalloc or glibc,jemalloc, got "${stringOption(values, 'malloc') ?? ''}"`, usage);
  }
  const cache = stringOption(values, 'sharp-cache') ?? 'on';
  if (cache !== 'on' && cache !== 'off') throw new UsageError(`--sharp-cache: expected on or off, got "${cache}"`, usage);
  const concurrency = values['sharp-concurrency'];
  const threadpool = values.threadpool;
  const base = {
    sharpConcurrency: concurrency === undefined ? null : wholeNumber('sharp-concurrency', concurrency, 0, 1, usage),
    sharpCache: cache === 'on',
    threadpool: threadpool === undefined ? null : wholeNumber('threadpool', threadpool, 0, 1, usage),
    transformSlots: values['transform-slots'] === undefined ? null : wholeNumber('transform-slots', values['transform-slots'], 0, 1, usage),
    cpuProfileDir: stringOption(values, 'profile') ?? null,
  };
  return [...new Set(allocators as Allocator[])].map((allocator) => ({ ...base, allocator }));
}

export function parseShared(values: OptionValues, defaultTarget: number, usage: string, defaultRounds: number): SharedOptions {
  const targetText = stringOption(values, 'target');
  const target = targetText === undefined ? defaultTarget : Number(targetText);
  if (targetText !== undefined && (!/^\d*\.?\d+$/.test(targetText) || target <= 0)) {
    throw new UsageError(`--target: expected a positive ratio, got "${targetText}"`, usage);
  }
  return {
    configs: parseChildSettings(values, usage),
    rounds: wholeNumber('rounds', values.rounds, defaultRounds, 1, usage),
    target,
    fixture: stringOption(values, 'fixture') ?? DEFAULT_FIXTURE,
  };
}

/** The most memory a service process should take under load (issue 15). */
export const RSS_TARGET_BYTES = 250 * 1024 * 1024;

export const progress = (line: string): void => {
  process.stderr.write(`… ${line}\n`);
};

export const megabytes = (bytes: number): string => fixed(bytes / (1024 * 1024), 0);

export const loadAverage = (): string => fixed(loadavg()[0] ?? Number.NaN, 2);

/** When a benchmark started, and the machine's load then: its report says both. */
export interface Started {
  readonly at: Date;
  readonly load: string;
}

export const startedNow = (): Started => ({ at: new Date(), load: loadAverage() });

/** The end of a report: the machine's load at its start and at its end, then its target lines. */
export const reportTail = (started: Started, targets: readonly string[]): string[] => [
  `Load average (1 min) at start ${started.load}, at end ${loadAverage()}.`,
  '',
  ...targets,
];

export function machineLines(startedAt: Date): string[] {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  return [
    `date         ${startedAt.toISOString()} to ${new Date().toISOString()}`,
    `machine      ${availableParallelism()} CPUs (${model}), node ${process.version}, ${process.platform}-${process.arch}`,
    `imaging      sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`,
  ];
}

/** What each process of a comparison actually ran with. */
export function settingsLine(children: readonly BenchChild[]): string {
  return children
    .map(
      ({ role, info }) =>
        `${role}: ${info.memorySettings}, sharp.concurrency() = ${info.sharpConcurrency}, sharp cache ${info.sharpCache}, UV_THREADPOOL_SIZE = ${info.uvThreadpoolSize}` +
        (info.transformSlots === null ? '' : `, transformations at once ${info.transformSlots}`),
    )
    .join('\n             ');
}

/** Each round measures the sides in the reverse order of the last, so that a drift in the machine's load weighs on all. */
export const orderOfRound = <T>(round: number, sides: readonly T[]): readonly T[] => (round % 2 === 0 ? sides : [...sides].reverse());

export const configName = (settings: ChildSettings): string => settings.allocator;

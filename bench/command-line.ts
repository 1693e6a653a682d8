import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * What every benchmark's command line shares: its options parsed strictly
 * (--help or -h on each), a bad option answered with the usage, and the exit
 * code — 64 for a bad option, 1 when the run itself fails, 0 otherwise,
 * whatever the figures say.
 */

/** A bad option: the message names it and what it accepts, then the usage. */
export class UsageError extends Error {
  constructor(message: string, usage: string) {
    super(`${message}\n\n${usage}`);
    this.name = 'UsageError';
  }
}

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

type OptionDeclarations = NonNullable<ParseArgsConfig['options']>;

/** The options' values, or 'help' when --help was given; an unknown option or a positional argument is a UsageError. */
export function parseCommandLine<const T extends OptionDeclarations>(argv: readonly string[], options: T, usage: string) {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: { ...options, ...HELP }, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError((error as Error).message, usage);
  }
  // The declarations are generic here, so the values' type is only known to the caller: help is among them.
  return (values as { readonly help?: boolean }).help === true ? 'help' : values;
}

export function wholeNumber(name: string, value: string | boolean | undefined, fallback: number, min: number, usage: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) < min) {
    throw new UsageError(`--${name}: expected a whole number of at least ${min}, got "${String(value)}"`, usage);
  }
  return Number(value);
}

/** Runs a benchmark's main: its usage for --help, and the exit code for how it ended. */
export async function runBenchmark<T>(parse: () => T | 'help', usage: string, main: (options: T) => Promise<void>): Promise<void> {
  try {
    const options = parse();
    if (options === 'help') console.log(usage);
    else await main(options);
  } catch (error) {
    console.error(error instanceof UsageError ? error.message : error);
    process.exitCode = error instanceof UsageError ? 64 : 1;
  }
}

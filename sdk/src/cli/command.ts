import type { ParseArgsConfig } from 'node:util';
import type { ProgImage } from '../client.ts';
import type { RequestOptions } from '../transport.ts';
import { UsageError } from './exit-codes.ts';

/** What a command is given once the arguments and configuration are read. */
export interface CommandContext {
  readonly client: ProgImage;
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  /** --json: one JSON document on stdout, for scripts. */
  readonly json: boolean;
  readonly request: RequestOptions;
}

export interface Command {
  /** Arguments and flags, for the help text. */
  readonly usage: string;
  readonly summary: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** Resolves with the exit status. */
  run(context: CommandContext): Promise<number>;
}

export const printJson = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

export const printLine = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

/** Whether the value of a string flag was given, as text. */
export const stringValue = (value: string | boolean | string[] | undefined): string | undefined =>
  typeof value === 'string' ? value : undefined;

/** The value of a flag that takes a whole number of seconds from 1 (--ttl, --expires-in), when it was given. */
export function secondsValue(values: CommandContext['values'], flag: string): number | undefined {
  const text = stringValue(values[flag]);
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (!(Number.isInteger(seconds) && seconds >= 1)) throw new UsageError(`--${flag} takes a whole number of seconds from 1`);
  return seconds;
}

import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/config.ts';

export type { Logger };

/** JSON logs on stdout, one logger per service, named so lines from one process can be told apart. */
export function createLogger(service: string, level: LogLevel): Logger {
  return pino({ name: service, level, base: { service } });
}

import type { ProcessSpec } from './processes.ts';

/** One server of the local stack: how to install, configure, start and health-check it. */
export interface LocalServer {
  readonly name: string;
  /** The pinned version; installs are cached under it. */
  readonly version: string;
  /** Where the server's own output goes; named in every failure. */
  readonly logFile: string;
  /** Where clients reach it, for `stack:status`. */
  readonly address: string;
  /** Loopback ports it listens on; they must be free before it starts. */
  readonly ports: readonly number[];
  /** Longest time a start may take before it counts as failed. */
  readonly startTimeoutMs: number;
  /** Installs this version into the cache unless it is there already. */
  install(): Promise<void>;
  /** Writes configuration and prepares storage; runs before every start. */
  prepare(): Promise<void>;
  process(): ProcessSpec;
  /** Resolves when the server answers its real protocol, rejects otherwise. */
  checkHealth(): Promise<void>;
  /** Runs whenever the server is up (started now or found running), e.g. to create topics. */
  afterReady?(): Promise<void>;
}

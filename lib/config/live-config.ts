import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../logger.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { LIVE_SETTINGS } from './environment.ts';

type EnvironmentVariables = Readonly<Record<string, string | undefined>>;

export type ConfigListener = (config: Config, previous: Config) => void;

/** How often the file is looked at: polling sees a file an editor replaced as surely as one written in place. */
const POLL_INTERVAL_MS = 1000;

/** A value of the file in the form the environment gives it; presets may be written as an object. */
function settingValue(name: string, value: unknown): string | Error {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (name === 'PROGIMAGE_PRESETS' && typeof value === 'object' && value !== null) return JSON.stringify(value);
  return new Error(`${name}: expected a string, a number or true/false`);
}

/**
 * The settings of a configuration file: a JSON object of live setting names
 * to values. Throws ConfigError naming every problem.
 */
function readSettings(file: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError([`${file}: ${error instanceof Error ? error.message : String(error)}`]);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError([`${file}: expected a JSON object of setting name → value`]);
  }
  const settings: Record<string, string> = {};
  const problems: string[] = [];
  for (const [name, value] of Object.entries(parsed)) {
    const text = settingValue(name, value);
    if (!LIVE_SETTINGS.has(name)) {
      problems.push(`${name}: not a live setting; set it in the environment and restart (live settings: ${[...LIVE_SETTINGS].join(', ')})`);
    } else if (text instanceof Error) {
      problems.push(text.message);
    } else {
      settings[name] = text;
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => `${file}: ${problem}`));
  return settings;
}

/**
 * The configuration in force: the environment's, with the settings of
 * PROGIMAGE_CONFIG_FILE on top, validated by the same rules. While watched, a
 * valid change of the file takes effect at once (listeners are told); an
 * invalid one is logged and the previous configuration stays.
 */
export class LiveConfig {
  readonly #env: EnvironmentVariables;
  readonly #listeners: ConfigListener[] = [];
  #config: Config;
  #fileSettings: Readonly<Record<string, string>>;
  #watching: ((current: Stats, previous: Stats) => void) | null = null;

  private constructor(env: EnvironmentVariables, config: Config, fileSettings: Readonly<Record<string, string>>) {
    this.#env = env;
    this.#config = config;
    this.#fileSettings = fileSettings;
  }

  /**
   * Reads the environment and the file it names.
   * @throws ConfigError naming every problem of either.
   */
  static open(env: EnvironmentVariables = process.env): LiveConfig {
    const config = loadConfig(env);
    if (config.configFile === null) return new LiveConfig(env, config, {});
    const settings = readSettings(config.configFile);
    return new LiveConfig(env, loadConfig({ ...env, ...settings }), settings);
  }

  /** A configuration that never changes (no file). */
  static fixed(config: Config): LiveConfig {
    return new LiveConfig({}, config, {});
  }

  current(): Config {
    return this.#config;
  }

  onChange(listener: ConfigListener): void {
    this.#listeners.push(listener);
  }

  /** Watches the file, if there is one, until stop(). */
  watch(log: Logger): void {
    const file = this.#config.configFile;
    if (file === null || this.#watching !== null) return;
    this.#watching = (current, previous) => {
      if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size || current.ino !== previous.ino) this.reload(log);
    };
    watchFile(file, { interval: POLL_INTERVAL_MS, persistent: false }, this.#watching);
    // Watching compares with the file as it is now: a change made since open() is read here.
    this.reload(log);
  }

  /** Reads the file again: a valid one is put in force, an invalid one is logged and changes nothing. */
  reload(log: Logger): void {
    const file = this.#config.configFile;
    if (file === null) return;
    let settings: Record<string, string>;
    let config: Config;
    try {
      settings = readSettings(file);
      config = loadConfig({ ...this.#env, ...settings });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      log.error(
        { file, problems: error.problems },
        `configuration file rejected, the previous configuration stays in force: ${error.problems.join('; ')}`,
      );
      return;
    }
    const names = new Set([...Object.keys(settings), ...Object.keys(this.#fileSettings)]);
    const changed = [...names].filter((name) => settings[name] !== this.#fileSettings[name]);
    this.#fileSettings = settings;
    if (changed.length === 0 || isDeepStrictEqual(config, this.#config)) return;
    const previous = this.#config;
    this.#config = config;
    log.info({ file, changed }, `configuration file applied: ${changed.join(', ')} changed`);
    for (const listener of this.#listeners) listener(config, previous);
  }

  stop(): void {
    if (this.#watching === null || this.#config.configFile === null) return;
    unwatchFile(this.#config.configFile, this.#watching);
    this.#watching = null;
  }
}

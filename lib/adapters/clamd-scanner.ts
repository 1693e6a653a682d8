import { PassThrough, Transform, finished, type Readable, type TransformCallback } from 'node:stream';
import { connectClamd } from '../clamd/client.ts';
import type { ClamdConfig } from '../config/index.ts';
import { DependencyUnavailableError } from '../errors.ts';
import { ScanIncompleteError, type ScanResult, type Scanner } from '../ports/scanner.ts';

type ClamdClient = Awaited<ReturnType<typeof connectClamd>>;
/** What clamscan's scanStream resolves to. Despite its typings, isInfected is null when clamd said neither OK nor FOUND. */
interface ClamdVerdict {
  readonly isInfected: boolean | null;
  readonly viruses: readonly string[];
  readonly resultString?: string;
}

interface EngineVersion {
  /** "ClamAV 1.4.6" */
  readonly engine: string;
  /** The daily database version, absent when clamd runs without the official databases. */
  readonly signatureVersion?: string;
  /** When that database was built (ISO 8601; clamd prints UTC in the official images), with signatureVersion. */
  readonly signaturesBuiltAt?: string;
}

/** How long a VERSION answer is reused: freshclam updates a few times a day at most. */
const VERSION_TTL_MS = 60_000;

/**
 * What clamd reports when it stopped short rather than found something:
 * - Heuristics.Limits.Exceeded.* (AlertExceedsMax): an archive too deep or
 *   too large, a scan too long; the rest of the input was never looked at.
 * - Heuristics.Encrypted.* (AlertEncrypted): an encrypted archive or PDF whose
 *   content clamd cannot read at all.
 * Neither is proof of malware (quarantining as a virus would be wrong) nor a
 * clean bill (passing it on would be worse), so both reject as incomplete.
 * Next to a real signature they are dropped and the verdict is `infected`.
 */
const INCOMPLETE_SCAN = /^Heuristics\.(?:Limits\.Exceeded|Encrypted)(?:\.|$)/;

/**
 * Parses clamd's VERSION reply: "ClamAV 1.4.6/27543/Tue Feb 11 09:30:00 2025",
 * or "ClamAV 1.4.6" (sometimes ".../0/...") when it runs without the official databases.
 */
export function parseClamdVersion(reply: string): EngineVersion {
  const [engine = '', database, built = ''] = reply.trim().split('/');
  if (!engine.startsWith('ClamAV ')) {
    throw new DependencyUnavailableError(`clamd answered VERSION with ${JSON.stringify(reply)}`);
  }
  if (database === undefined || database === '' || database === '0') return { engine };
  const builtAt = Date.parse(`${built} UTC`);
  return Number.isNaN(builtAt)
    ? { engine, signatureVersion: database }
    : { engine, signatureVersion: database, signaturesBuiltAt: new Date(builtAt).toISOString() };
}

/**
 * The input as clamscan reads it: bytes only, no empty chunks (clamscan would
 * frame one as INSTREAM's zero-length terminator and clamd would stop reading
 * there), and one empty chunk for an empty input so that INSTREAM still starts.
 */
class InstreamInput extends Transform {
  #bytes = 0;

  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length > 0) {
      this.#bytes += chunk.length;
      this.push(chunk);
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#bytes === 0) this.push(Buffer.alloc(0));
    callback();
  }
}

function withDeadline<R>(work: Promise<R>, timeoutMs: number, onTimeout: () => Error): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(onTimeout());
    }, timeoutMs);
  });
  return Promise.race([work, deadline]).finally(() => {
    clearTimeout(timer);
  });
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * The scanner on clamd over TCP (INSTREAM, through clamscan). The verdict is
 * `clean` only on clamd's "OK"; limits and encryption reject with
 * ScanIncompleteError, an unreachable or failing clamd with
 * DependencyUnavailableError. `timeoutMs` bounds each exchange with clamd,
 * a whole scan included.
 *
 * clamscan writes a stream to the socket as fast as it is read (no
 * backpressure), so a large stream is buffered in memory up to clamd's
 * StreamMaxLength. It also logs socket errors to the console itself.
 */
export function createClamdScanner(config: ClamdConfig): Scanner {
  const where = `clamd at ${config.host}:${config.port}`;
  const unavailable = (error: unknown): DependencyUnavailableError =>
    error instanceof DependencyUnavailableError ? error : new DependencyUnavailableError(`${where} failed: ${messageOf(error)}`, error);
  const timedOut = (what: string) => (): DependencyUnavailableError =>
    new DependencyUnavailableError(`${where} did not answer ${what} within ${config.timeoutMs} ms`);

  let client: Promise<ClamdClient> | null = null;
  /** connectClamd checks clamd with a PING; a failed connection is tried again on the next call. */
  function connect(): Promise<ClamdClient> {
    client ??= withDeadline(connectClamd(config), config.timeoutMs, timedOut('PING')).catch((error: unknown) => {
      client = null;
      throw unavailable(error);
    });
    return client;
  }

  let version: { readonly value: EngineVersion; readonly expiresAt: number } | null = null;
  let versionRequest: Promise<EngineVersion> | null = null;
  function engineVersion(clam: ClamdClient): Promise<EngineVersion> {
    if (version !== null && version.expiresAt > Date.now()) return Promise.resolve(version.value);
    versionRequest ??= withDeadline(clam.getVersion(), config.timeoutMs, timedOut('VERSION'))
      .then((reply) => {
        const value = parseClamdVersion(reply);
        version = { value, expiresAt: Date.now() + VERSION_TTL_MS };
        return value;
      })
      .catch((error: unknown) => {
        throw unavailable(error);
      })
      .finally(() => {
        versionRequest = null;
      });
    return versionRequest;
  }

  /** Whether clamd answers PING: tells "clamd hung up on this input" from "clamd is gone". */
  async function answersPing(clam: ClamdClient): Promise<boolean> {
    try {
      const socket = await withDeadline(clam.ping(), config.timeoutMs, timedOut('PING'));
      socket.end();
      return true;
    } catch {
      return false;
    }
  }

  async function scanWithClamd(clam: ClamdClient, body: Buffer | Readable): Promise<ClamdVerdict> {
    // Not Readable.from([body]): with it, the API process under load ran a full (mark-compact) garbage
    // collection every ~200 ms, 11–15 against none over 150 scanned requests: ~5 ms of CPU per scan (docs/BENCHMARKS.md).
    const source = Buffer.isBuffer(body) ? new PassThrough().end(body) : body;
    const input = new InstreamInput();
    let inputError: unknown = null;
    let timedOutScan = false;
    // clamscan listens to its input only once its socket is open, so it can miss an early failure: race it here.
    const inputFailed = new Promise<never>((_resolve, reject) => {
      finished(source, (error) => {
        if (!error) return; // undefined or null once the source ended
        inputError = error;
        reject(error);
      });
    });
    inputFailed.catch(() => undefined); // after the verdict it changes nothing
    source.pipe(input);
    try {
      return await withDeadline(Promise.race([clam.scanStream(input), inputFailed]), config.timeoutMs, () => {
        timedOutScan = true;
        return timedOut('a scan')();
      });
    } catch (error) {
      source.unpipe(input);
      source.destroy();
      const clamdHungUp = error !== inputError && !timedOutScan;
      // While clamd still listens, end INSTREAM with what was sent: it answers and hangs up at once
      // instead of holding the connection until its ReadTimeout.
      if (clamdHungUp) input.destroy();
      else if (!input.writableEnded) input.end();
      if (!clamdHungUp) throw error; // the input's own failure, or the deadline
      // Over StreamMaxLength clamd answers "INSTREAM size limit exceeded. ERROR" and hangs up; whether
      // clamscan reports that reply or the broken pipe it then writes into is a race, which a PING settles.
      const code = (error as NodeJS.ErrnoException).code;
      if (/size limit exceeded/i.test(messageOf(error)) || ((code === 'EPIPE' || code === 'ECONNRESET') && (await answersPing(clam)))) {
        throw new ScanIncompleteError(`${where} hung up before the end of the input (over its StreamMaxLength?)`);
      }
      throw unavailable(error);
    }
  }

  return {
    enabled: true,

    async scan(body) {
      const clam = await connect().catch((error: unknown) => {
        // Nothing will read the input: release what feeds it (an open blob file) now, not at garbage collection.
        if (!Buffer.isBuffer(body)) body.destroy();
        throw error;
      });
      const [result, { engine, signatureVersion }] = await Promise.all([scanWithClamd(clam, body), engineVersion(clam)]);
      const about = signatureVersion === undefined ? { engine } : { engine, signatureVersion };
      if (result.isInfected === false) return { verdict: 'clean', signatures: [], ...about } satisfies ScanResult;
      if (result.isInfected === null) {
        // e.g. "COMMAND READ TIMED OUT": clamd gave up reading the input.
        throw new ScanIncompleteError(`${where} gave no verdict: ${JSON.stringify(result.resultString ?? '')}`);
      }
      const signatures = result.viruses.filter((name) => !INCOMPLETE_SCAN.test(name));
      if (signatures.length === 0) throw new ScanIncompleteError(`${where} stopped short: ${result.viruses.join(', ')}`);
      return { verdict: 'infected', signatures, ...about } satisfies ScanResult;
    },

    async checkHealth() {
      const clam = await connect();
      const socket = await withDeadline(clam.ping(), config.timeoutMs, timedOut('PING')).catch((error: unknown) => {
        throw unavailable(error);
      });
      socket.end();
    },
  };
}

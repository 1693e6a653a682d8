import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { pino } from 'pino';
import { ConfigError, LiveConfig, type Config } from '../../lib/config/index.ts';
import { waitUntil } from '../../lib/wait.ts';

interface LogLine {
  readonly level: number;
  readonly msg: string;
}

/** A logger whose lines are kept for the test to read. */
function capturedLog() {
  const lines: LogLine[] = [];
  const log = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        lines.push(JSON.parse(line) as LogLine);
      },
    },
  );
  return { log, lines };
}

const ERROR = 50;
const INFO = 30;

async function configFile(
  content: unknown,
): Promise<{ file: string; write: (next: unknown) => Promise<void>; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'progimage-live-'));
  const file = join(dir, 'live.json');
  const write = (next: unknown) => writeFile(file, typeof next === 'string' ? next : JSON.stringify(next));
  await write(content);
  return { file, write, remove: () => rm(dir, { recursive: true, force: true }) };
}

const CLAMD = { PROGIMAGE_CLAMD_HOST: 'clamd.internal' };

test("the file's settings apply over the environment at start, in the forms JSON allows", async (t) => {
  const { file, remove } = await configFile({
    PROGIMAGE_SCAN: 'off',
    PROGIMAGE_MAX_FRAMES: 10,
    PROGIMAGE_PRESETS_ONLY: true,
    PROGIMAGE_PRESETS: { avatar: { w: 64, h: 64 } },
  });
  t.teardown(remove);
  const config = LiveConfig.open({ ...CLAMD, PROGIMAGE_MAX_FRAMES: '99', PROGIMAGE_CONFIG_FILE: file }).current();
  t.false(config.scan.enabled);
  t.is(config.limits.maxFrames, 10);
  t.true(config.transforms.presetsOnly);
  t.deepEqual([...config.transforms.presets.keys()], ['avatar']);
});

test('a valid change is put in force, its listeners are told, and a log line names what changed', async (t) => {
  const { file, write, remove } = await configFile({ PROGIMAGE_SCAN: 'on', PROGIMAGE_CLAMD_TIMEOUT_MS: 5000 });
  t.teardown(remove);
  const live = LiveConfig.open({ ...CLAMD, PROGIMAGE_CONFIG_FILE: file });
  const { log, lines } = capturedLog();
  const changes: [Config, Config][] = [];
  live.onChange((config, previous) => changes.push([config, previous]));

  await write({ PROGIMAGE_SCAN: 'off', PROGIMAGE_CLAMD_TIMEOUT_MS: 5000, PROGIMAGE_MAX_UPLOAD_BYTES: '1000' });
  live.reload(log);

  t.false(live.current().scan.enabled);
  t.is(live.current().uploads.maxBytes, 1000);
  t.is(changes.length, 1);
  t.true(changes[0]?.[1].scan.enabled);
  t.false(changes[0]?.[0].scan.enabled);
  t.like(lines, [{ level: INFO, msg: 'configuration file applied: PROGIMAGE_SCAN, PROGIMAGE_MAX_UPLOAD_BYTES changed' }]);
});

const REJECTED: readonly [string, unknown, RegExp][] = [
  ['invalid JSON', '{"PROGIMAGE_SCAN": "off",', /live\.json: .*JSON/],
  ['not an object', '["PROGIMAGE_SCAN"]', /expected a JSON object/],
  ['an unknown setting', { PROGIMAGE_SACN: 'off' }, /PROGIMAGE_SACN: not a live setting/],
  [
    'a setting that needs a restart',
    { PROGIMAGE_KAFKA_BROKERS: 'kafka:9092' },
    /PROGIMAGE_KAFKA_BROKERS: not a live setting; set it in the environment and restart/,
  ],
  ['a bad value', { PROGIMAGE_MAX_FRAMES: 'many' }, /PROGIMAGE_MAX_FRAMES: expected a number of frames/],
  ['a value of the wrong type', { PROGIMAGE_MAX_FRAMES: [10] }, /PROGIMAGE_MAX_FRAMES: expected a string, a number or true\/false/],
  ['a bad preset', { PROGIMAGE_PRESETS: { avatar: { format: 'png' } } }, /PROGIMAGE_PRESETS: preset "avatar": format/],
  ['scanning on without clamd', { PROGIMAGE_SCAN: 'on' }, /PROGIMAGE_CLAMD_HOST: required when PROGIMAGE_SCAN is "on"/],
];

for (const [what, content, problem] of REJECTED) {
  test(`${what} is rejected with a log line naming the problem; the previous configuration stays`, async (t) => {
    const { file, write, remove } = await configFile({ PROGIMAGE_MAX_FRAMES: 7 });
    t.teardown(remove);
    const live = LiveConfig.open({ PROGIMAGE_CONFIG_FILE: file });
    const before = live.current();
    const { log, lines } = capturedLog();
    let told = false;
    live.onChange(() => {
      told = true;
    });

    await write(content);
    live.reload(log);

    t.is(live.current(), before);
    t.is(live.current().limits.maxFrames, 7);
    t.false(told);
    t.is(lines.length, 1);
    t.is(lines[0]?.level, ERROR);
    t.regex(lines[0]?.msg ?? '', /^configuration file rejected, the previous configuration stays in force: /);
    t.regex(lines[0]?.msg ?? '', problem);
  });

  test(`${what} at start refuses the configuration, naming the problem`, async (t) => {
    const { file, remove } = await configFile(content);
    t.teardown(remove);
    const error = t.throws(() => LiveConfig.open({ PROGIMAGE_CONFIG_FILE: file }), { instanceOf: ConfigError });
    t.regex(error.problems.join('\n'), problem);
  });
}

test('a missing file is rejected at start and, later, leaves the configuration in force', async (t) => {
  const { file, remove } = await configFile({ PROGIMAGE_MAX_FRAMES: 7 });
  const live = LiveConfig.open({ PROGIMAGE_CONFIG_FILE: file });
  await remove();
  const { log, lines } = capturedLog();
  live.reload(log);
  t.is(live.current().limits.maxFrames, 7);
  t.like(lines, [{ level: ERROR }]);
  t.regex(lines[0]?.msg ?? '', /ENOENT/);
  t.throws(() => LiveConfig.open({ PROGIMAGE_CONFIG_FILE: file }), { instanceOf: ConfigError, message: /ENOENT/ });
});

test('while watched, a file an editor replaces takes effect without being asked', async (t) => {
  const { file, remove } = await configFile({ PROGIMAGE_MAX_FRAMES: 7 });
  t.teardown(remove);
  const live = LiveConfig.open({ PROGIMAGE_CONFIG_FILE: file });
  const { log } = capturedLog();
  live.watch(log);
  t.teardown(() => {
    live.stop();
  });

  // As editors save: a new file renamed over the old one.
  await writeFile(`${file}.tmp`, JSON.stringify({ PROGIMAGE_MAX_FRAMES: 8 }));
  await rename(`${file}.tmp`, file);

  await waitUntil(() => live.current().limits.maxFrames === 8, {
    timeoutMs: 10_000,
    intervalMs: 100,
    description: 'the new file to be in force',
  });
  t.pass();
});

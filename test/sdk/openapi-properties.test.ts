import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { pythonWithRequirements } from '../../infra/local/python-tools.ts';
import { startProgImage } from '../support/progimage.ts';
import { runCommand } from '../support/run-command.ts';

/**
 * Property-based tests of the served OpenAPI document with Schemathesis
 * (pinned in schemathesis-requirements.txt): it generates requests from the
 * document, valid and not, sends them to `npm start`'s embedded default, and
 * checks every answer against the document. It must find nothing.
 */

const ADMIN_TOKEN = 'openapi-properties-admin-token';
/** Cases per operation and phase: about 3,700 requests in all, in about a minute and a half on 2 CPUs. */
const MAX_EXAMPLES = 12;

test('Schemathesis finds no answer outside the document and no server error', async (t) => {
  const python = await pythonWithRequirements('schemathesis', join(import.meta.dirname, 'schemathesis-requirements.txt'));
  const running = await startProgImage({
    PROGIMAGE_DATA_DIR: mkdtempSync(join(tmpdir(), 'progimage-schemathesis-')),
    PROGIMAGE_ADMIN_TOKEN: ADMIN_TOKEN,
    // URLs in generated bodies are fetched: offline they fail at once, or at this deadline.
    PROGIMAGE_FETCH_TIMEOUT_MS: '1000',
  });
  t.teardown(() => running.stop());
  // A tenant and its API key of the test's own, made through the admin API.
  const created = await fetch(`${running.baseUrl}/v1/admin/tenants`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'schemathesis' }),
  });
  t.is(created.status, 201);
  const { key } = ((await created.json()) as { key: { key: string } }).key;

  const reportDir = mkdtempSync(join(tmpdir(), 'schemathesis-report-'));
  const result = await runCommand(
    python,
    [
      '-m',
      'schemathesis.cli',
      // The statuses a few operations answer for reasons no document can state, each with its reason.
      '--config-file',
      join(import.meta.dirname, 'schemathesis.toml'),
      'run',
      `${running.baseUrl}/v1/openapi.json`,
      '--header',
      `Authorization: Bearer ${key}`,
      '--checks',
      'all',
      '--phases',
      'examples,coverage,fuzzing',
      '--max-examples',
      String(MAX_EXAMPLES),
      '--seed',
      '17',
      // One worker: with two, Hypothesis's description of its strategies (Python's ast, not thread-safe) fails now and then.
      '--workers',
      '1',
      '--request-timeout',
      '30',
      '--suppress-health-check',
      'all',
      // Every check runs (--checks all, nothing excluded); schemathesis.toml names the few statuses a few operations
      // may answer besides the defaults, and why.
      '--report',
      'junit',
      '--report-dir',
      reportDir,
    ],
    { cwd: reportDir, env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false' } },
  );
  const output = result.stdout.toString('utf8');
  writeFileSync(join(reportDir, 'output.txt'), output);
  const summary = output.slice(output.lastIndexOf('SUMMARY'));
  t.log(
    summary
      .split('\n')
      .filter((line) => /cases|generated|failures|❌/.test(line))
      .join('\n'),
  );
  t.is(result.code, 0, `${summary}\nEvery failure: ${join(reportDir, 'output.txt')}\n${result.stderr.slice(-4000)}`);
});

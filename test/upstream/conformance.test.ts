import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { pythonWithRequirements } from '../../infra/local/python-tools.ts';
import { outcomeSchema } from '../../lib/events/outcomes.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { DEFAULT_TENANT } from '../../lib/ids.ts';
import { namespaced } from '../../lib/kafka/names.ts';
import { startFixtureServer } from '../support/fixture-server.ts';
import { admin, startSecured } from '../support/secured.ts';

/**
 * The contract with upstream systems, kept honest by a client in another
 * language: Python's confluent-kafka (librdkafka), doing exactly what
 * docs/events.md shows, against ProgImage on the real servers.
 */

const here = (name: string): string => fileURLToPath(new URL(name, import.meta.url));
const SCRIPT = here('conformance.py');
const DOCS = here('../../docs/events.md');

test('the Python examples of docs/events.md are the conformance script, line for line', async (t) => {
  const [docs, script] = await Promise.all([readFile(DOCS, 'utf8'), readFile(SCRIPT, 'utf8')]);
  // The webhooks section's Python verifier is run on a real delivery by test/e2e/webhooks.test.ts.
  const upstreamSections = docs.slice(0, docs.indexOf('\n## Webhooks'));
  const examples = [...upstreamSections.matchAll(/```python\n([\s\S]*?)```/g)].map(([, code = '']) => code);
  t.is(examples.length, 2, 'one example publishes, one reads the outcome');
  for (const example of examples) t.true(script.includes(example), `not in conformance.py:\n${example}`);
});

test('a Python upstream with a credential from the admin command signs a URL request as the docs say, and reads image.ready', async (t) => {
  const fixtures = await startFixtureServer();
  const secured = await startSecured('conformance', { PROGIMAGE_FETCH_ALLOW_HOSTS: fixtures.host });
  t.teardown(async () => {
    await secured.stop();
    await fixtures.close();
  });
  const created = await admin(secured.env, 'ingest-credential', 'create', DEFAULT_TENANT, '--label', 'python conformance');
  const [, keyId = '', secret = ''] = /key id: (\S+)\n\s+secret: (\S+)/.exec(created) ?? [];
  const { kafka } = secured.running.config;
  if (kafka === null) throw new Error('the conformance test runs on Kafka');
  const python = await pythonWithRequirements('python-upstream', here('requirements.txt'));

  const { stdout, stderr } = await promisify(execFile)(python, [SCRIPT], {
    timeout: 120_000,
    env: {
      KAFKA_BROKERS: kafka.brokers.join(','),
      INGEST_TOPIC: namespaced(TOPICS.ingestRequested, kafka.namespace),
      OUTCOMES_TOPIC: namespaced(TOPICS.outcomes, kafka.namespace),
      OUTCOMES_GROUP: namespaced('python-upstream', kafka.namespace),
      TENANT: DEFAULT_TENANT,
      KEY_ID: keyId,
      SECRET: secret,
      IMAGE_URL: fixtures.url('320x240.jpg'),
    },
  });
  t.log(`conformance.py printed: ${stdout.trim()}`);
  if (stderr !== '') t.log(`and on stderr: ${stderr.trim()}`);
  const outcome = outcomeSchema.parse(JSON.parse(stdout));
  t.like(outcome, { type: 'image.ready', tenant: DEFAULT_TENANT, schemaVersion: 1, payload: { width: 320, height: 240 } });
});

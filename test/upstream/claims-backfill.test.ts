import { randomUUID } from 'node:crypto';
import test from 'ava';
import { claimImageId, openImageIdClaims } from '../../lib/auth/image-id-claims.ts';
import { createTenant, openTenantCollections, UNLIMITED } from '../../lib/auth/tenants.ts';
import { bearer, imageSchema, json, request, uploadAccepted, waitForFinalStatus } from '../support/api.ts';
import { runJob } from '../support/admin-jobs.ts';
import { readFixture } from '../support/fixtures.ts';
import { ADMIN_TOKEN, startJobsHost } from '../support/jobs-host.ts';
import { ingestCredential, readOutcomes, requestIngest } from '../support/upstream.ts';

/** A tenant of this run only: its blob prefixes hold nothing of other runs on the shared bucket. */
const BRAVO = `bravo-${randomUUID().slice(0, 8)}`;

test("the image-id-claims job claims an old image's id for its tenant, twice harmlessly, and another tenant's request for it is then rejected", async (t) => {
  const { progimage } = await startJobsHost(t, 'claims-backfill');
  const { baseUrl } = progimage;
  const store = await progimage.catalogStore();
  const bravo = await createTenant(await openTenantCollections(store), BRAVO, UNLIMITED);
  if (bravo === null) throw new Error(`tenant ${BRAVO} exists`);
  const outcomes = await readOutcomes(progimage);
  t.teardown(() => outcomes.stop());

  // Two images of the default tenant stored before image ids were claimed: their claims removed through the store's port.
  // The id of the second was then claimed by the other tenant, as its upstream's request would have before the job ran.
  const imageId = await uploadAccepted(baseUrl, await readFixture('Landscape_1.jpg'), 'image/jpeg');
  const namedByBravo = await uploadAccepted(baseUrl, await readFixture('320x240.jpg'), 'image/jpeg');
  const before = await waitForFinalStatus(baseUrl, imageId);
  const claims = await openImageIdClaims(store);
  t.true(await claims.delete(imageId));
  t.true(await claims.delete(namedByBravo));
  const bravoClaim = await claimImageId(claims, { imageId: namedByBravo, tenant: BRAVO }, 'a request of bravo');

  const first = await runJob(baseUrl, ADMIN_TOKEN, 'image-id-claims');
  t.deepEqual([first.outcome, first.counts], ['succeeded', { examined: 2, claimed: 1, conflicting: 1 }]);
  const claim = (await claims.get(imageId))?.document;
  t.like(claim, { tenant: 'default', request: null });
  t.deepEqual((await claims.get(namedByBravo))?.document, bravoClaim, 'a claim of another tenant is reported, never replaced');

  const second = await runJob(baseUrl, ADMIN_TOKEN, 'image-id-claims');
  t.deepEqual([second.outcome, second.counts], ['succeeded', { examined: 2, conflicting: 1 }], 'the second run claims nothing more');
  t.deepEqual((await claims.get(imageId))?.document, claim);

  const key = `incoming/${BRAVO}/${randomUUID()}/flowers.jpeg`;
  await progimage.blobs.put(key, await readFixture('flowers.jpeg'), { contentType: 'application/octet-stream' });
  t.teardown(() => progimage.blobs.delete(key));
  await requestIngest(progimage, await ingestCredential(progimage, BRAVO), BRAVO, { key }, imageId);
  const rejected = await outcomes.next(
    (outcome) => outcome.type === 'ingest.rejected' && outcome.imageId === imageId,
    `the rejection of ${BRAVO}'s request`,
  );
  t.like(rejected, { tenant: BRAVO, payload: { reason: 'image_id_taken' } });

  const stored: string[] = [];
  for (const prefix of [`originals/${BRAVO}/`, `quarantine/${BRAVO}/`, `derived/${BRAVO}/`]) {
    for await (const blob of progimage.blobs.list(prefix)) stored.push(blob.key);
  }
  t.deepEqual(stored, [], `nothing stored for ${BRAVO}`);
  t.is((await request(`${baseUrl}/v1/images/${imageId}`, { headers: bearer(bravo.apiKey) })).status, 404);
  t.deepEqual(imageSchema.parse(json(await request(`${baseUrl}/v1/images/${imageId}`))), before, "the default tenant's image is untouched");
});

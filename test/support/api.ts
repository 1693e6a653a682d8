import { z } from 'zod';
import { WaitTimeoutError, waitUntil } from '../../lib/wait.ts';
import { parsePrometheusText, sampleSum } from './prometheus.ts';

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly bytes: Buffer;
}

export const json = (reply: Reply): unknown => JSON.parse(reply.bytes.toString('utf8'));

/** The key every test deployment's default tenant accepts (PROGIMAGE_BOOTSTRAP_API_KEY). */
export const TEST_API_KEY = 'pik_the-default-tenant-key-of-every-test-deployment';
export const TEST_AUTH_ENV = { PROGIMAGE_BOOTSTRAP_API_KEY: TEST_API_KEY } as const;

/** A request with TEST_API_KEY, unless `init` sends an Authorization header of its own. */
export async function request(url: string, init: RequestInit = {}): Promise<Reply> {
  const headers = new Headers(init.headers);
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${TEST_API_KEY}`);
  return anonymousRequest(url, { ...init, headers });
}

/** A request with no credentials but those `init` carries. */
export async function anonymousRequest(url: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
}

export const upload = (baseUrl: string, bytes: Buffer, contentType: string, headers: Record<string, string> = {}) =>
  request(`${baseUrl}/v1/images`, { method: 'POST', body: bytes, headers: { 'Content-Type': contentType, ...headers } });

/** The Authorization header of a request made with `key`. */
export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

const acceptedSchema = z.object({ id: z.string(), status: z.literal('uploaded') });

/** Uploads an image that must be accepted; returns its id. */
export async function uploadAccepted(
  baseUrl: string,
  bytes: Buffer,
  contentType = 'application/octet-stream',
  key = TEST_API_KEY,
): Promise<string> {
  const reply = await upload(baseUrl, bytes, contentType, bearer(key));
  if (reply.status !== 202) throw new Error(`upload answered ${reply.status}: ${reply.bytes.toString('utf8')}`);
  return acceptedSchema.parse(json(reply)).id;
}

export const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }).loose() });

export const imageSchema = z
  .object({
    id: z.string(),
    status: z.string(),
    width: z.number().nullable(),
    height: z.number().nullable(),
    format: z.string().nullable(),
    failure: z.object({ stage: z.string(), reason: z.string() }).nullable(),
    stages: z.object({ scan: z.object({ verdict: z.string().nullable(), signatures: z.array(z.string()) }).loose() }).loose(),
    variants: z.array(z.object({ name: z.string(), format: z.string(), width: z.number(), height: z.number(), url: z.string() })),
  })
  .loose();
export type ImageJson = z.infer<typeof imageSchema>;

const FINAL_STATUSES = new Set(['ready', 'failed', 'infected']);

/** Polls the image until the pipeline is done with it (ready, failed or infected). */
/**
 * Waits for the image to be ready, failed or infected. On a timeout the error
 * says where the image stood and what /readyz answered, so a stuck pipeline
 * names its stuck stage or its stopped consumer group.
 */
export async function waitForFinalStatus(baseUrl: string, id: string, key = TEST_API_KEY, timeoutMs = 240_000): Promise<ImageJson> {
  let last: ImageJson | undefined;
  try {
    return await waitUntil(
      async () => {
        last = imageSchema.parse(json(await request(`${baseUrl}/v1/images/${id}`, { headers: bearer(key) })));
        return FINAL_STATUSES.has(last.status) ? last : false;
      },
      { timeoutMs, intervalMs: 100, description: `image ${id} to finish processing` },
    );
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    const readiness = await request(`${baseUrl}/readyz`).then(
      (reply) => `${reply.status} ${reply.bytes.toString('utf8', 0, 500)}`,
      (failure: unknown) => String(failure),
    );
    const seen = last === undefined ? 'never read' : `${last.status}, stages ${JSON.stringify(last.stages)}`;
    throw new Error(`${error.message}; last seen: ${seen}; /readyz: ${readiness}`, { cause: error });
  }
}

/** A URL of image bytes (`path` with its query) signed by the default tenant through POST /v1/signed-urls, absolute. */
export async function signedUrl(baseUrl: string, path: string, expiresIn = 600): Promise<string> {
  const reply = await request(`${baseUrl}/v1/signed-urls`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path, expiresIn }),
  });
  if (reply.status !== 201) throw new Error(`signing answered ${reply.status}: ${reply.bytes.toString('utf8')}`);
  return new URL(z.object({ url: z.string() }).parse(json(reply)).url, baseUrl).href;
}

/**
 * Waits until the service at `baseUrl` has written to the blob store every
 * rendition and transformation it answered with: they are stored after the
 * answer, so a test that lists the blob store waits for them first.
 */
export async function madeBlobsStored(baseUrl: string): Promise<void> {
  await waitUntil(
    async () => {
      const samples = parsePrometheusText((await request(`${baseUrl}/metrics`)).bytes.toString('utf8'));
      return sampleSum(samples, 'progimage_made_blobs_storing') === 0;
    },
    { timeoutMs: 60_000, intervalMs: 20, description: 'the renditions and transformations answered with to be stored' },
  );
}

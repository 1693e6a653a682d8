import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';

const READY_TIMEOUT_MS = 10 * 60_000;

const idSchema = z.object({ id: z.string() }).loose();
const statusSchema = z.object({ status: z.string() }).loose();

/** Uploads an image as a raw body and waits until the pipeline has made it `ready`; resolves with its id. */
export async function uploadReady(base: string, bytes: Buffer, contentType: string, apiKey: string): Promise<string> {
  const authorization = { Authorization: `Bearer ${apiKey}` };
  const uploaded = await fetch(`${base}/v1/images`, {
    method: 'POST',
    body: bytes,
    headers: { 'Content-Type': contentType, ...authorization },
  });
  const text = await uploaded.text();
  if (uploaded.status !== 202) throw new Error(`upload answered ${uploaded.status}: ${text}`);
  const { id } = idSchema.parse(JSON.parse(text));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const response = await fetch(`${base}/v1/images/${id}`, { headers: authorization });
    const body = await response.text();
    if (response.status === 200) {
      const { status } = statusSchema.parse(JSON.parse(body));
      if (status === 'ready') return id;
      if (status === 'failed' || status === 'infected') throw new Error(`image ${id} ended ${status}: ${body}`);
    } else if (response.status !== 404) {
      throw new Error(`GET /v1/images/${id} answered ${response.status}: ${body}`);
    }
    if (Date.now() > deadline) throw new Error(`image ${id} was not ready after ${READY_TIMEOUT_MS / 1000} s`);
    await sleep(100);
  }
}

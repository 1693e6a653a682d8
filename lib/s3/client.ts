import { Client } from 'minio';
import type { S3Config } from '../config/index.ts';

/** The one place a MinIO/S3 client is built from ProgImage's configuration. */
export function createS3Client(config: S3Config): Client {
  const useSSL = config.endpoint.protocol === 'https:';
  const port = config.endpoint.port === '' ? (useSSL ? 443 : 80) : Number(config.endpoint.port);
  return new Client({
    endPoint: config.endpoint.hostname,
    port,
    useSSL,
    accessKey: config.accessKey,
    secretKey: config.secretKey,
    region: config.region,
  });
}

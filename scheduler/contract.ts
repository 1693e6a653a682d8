import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { pageLimit, pathSegment } from '../lib/http/contract/parameters.ts';
import { ADMIN, adminRefused, failure } from '../lib/http/contract/refusals.ts';
import { jobRunSchema } from './job-runs.ts';

/** GET /v1/admin/jobs/NAME/runs: how many of the latest. */
export const runsQuery = z.object({ limit: pageLimit(500, 20) });

/** A run's number in the path. */
export const runSeqSchema = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const jobRunViewSchema = jobRunSchema
  .extend({
    expiresAt: jobRunSchema.shape.expiresAt.meta({ description: 'The lease, renewed while the run lasts' }),
    links: z.object({ self: z.string() }),
  })
  .meta({ id: 'JobRun' });
export type JobRunView = z.infer<typeof jobRunViewSchema>;

const jobPath = z.object({ name: pathSegment('The job') });
const json = (schema: z.ZodType) => ({ 'application/json': { schema } });
const noJob = { '404': failure('no such job', ['not_found']) };

export const jobPaths: ZodOpenApiPathsObject = {
  '/v1/admin/jobs': {
    get: {
      ...ADMIN,
      operationId: 'listJobs',
      summary: "The scheduler's jobs, their schedules, next and last runs",
      responses: {
        '200': {
          description: 'The jobs',
          content: json(
            z.object({
              jobs: z.array(
                z.object({
                  name: z.string(),
                  description: z.string(),
                  schedule: z.string().nullable(),
                  nextRun: z.string().nullable(),
                  lastRun: jobRunViewSchema.nullable(),
                }),
              ),
            }),
          ),
        },
        ...adminRefused,
      },
    },
  },
  '/v1/admin/jobs/{name}/runs': {
    get: {
      ...ADMIN,
      operationId: 'listJobRuns',
      summary: "A job's latest runs, newest first",
      requestParams: { path: jobPath, query: runsQuery },
      responses: {
        '200': { description: 'The runs', content: json(z.object({ runs: z.array(jobRunViewSchema) })) },
        '400': failure('a bad limit', ['bad_request']),
        ...noJob,
        ...adminRefused,
      },
    },
    post: {
      ...ADMIN,
      operationId: 'runJob',
      summary: 'Runs the job now (under its lease: never beside another run of it)',
      requestParams: { path: jobPath },
      responses: {
        '202': { description: 'Started; Location names the run', content: json(jobRunViewSchema) },
        ...noJob,
        '409': failure('a run of it is under way', ['job_running']),
        ...adminRefused,
      },
    },
  },
  '/v1/admin/jobs/{name}/runs/{seq}': {
    get: {
      ...ADMIN,
      operationId: 'getJobRun',
      summary: 'One run: its start, end, counts and error',
      requestParams: { path: jobPath.extend({ seq: runSeqSchema }) },
      responses: {
        '200': { description: 'The run', content: json(jobRunViewSchema) },
        '404': failure('no such job or run', ['not_found']),
        ...adminRefused,
      },
    },
  },
};

/** One kind of process of the distributed layout: the service its main.ts starts. */
export interface ProcessRole {
  readonly role: string;
  readonly main: string;
  /** Pipeline processors scale by copies in one consumer group; the others run once. */
  readonly scales: boolean;
}

/** The API first: it is the one address clients use, and it creates a new store's first tenant. */
export const DISTRIBUTED_ROLES: readonly ProcessRole[] = [
  { role: 'api', main: 'api/main.ts', scales: false },
  { role: 'catalog', main: 'catalog/main.ts', scales: false },
  { role: 'ingest', main: 'ingest/main.ts', scales: false },
  { role: 'scan', main: 'processors/scan/main.ts', scales: true },
  { role: 'strip', main: 'processors/strip/main.ts', scales: true },
  { role: 'compress', main: 'processors/compress/main.ts', scales: true },
  { role: 'variants', main: 'processors/variants/main.ts', scales: true },
  { role: 'transform', main: 'processors/transform/main.ts', scales: true },
  { role: 'rescan', main: 'processors/rescan/main.ts', scales: true },
  { role: 'scheduler', main: 'scheduler/main.ts', scales: false },
  { role: 'webhooks', main: 'webhooks/main.ts', scales: false },
];

export interface LayoutProcess {
  /** The role and the copy: `scan#2`; a role that runs once is just its name. */
  readonly name: string;
  readonly main: string;
}

/** Every process to run, `copies` of each processor. */
export function distributedProcesses(copies: number): LayoutProcess[] {
  return DISTRIBUTED_ROLES.flatMap(({ role, main, scales }) =>
    scales ? Array.from({ length: copies }, (_, index) => ({ name: `${role}#${index + 1}`, main })) : [{ name: role, main }],
  );
}

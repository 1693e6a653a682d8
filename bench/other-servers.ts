import type { OtherServer, TransformWork } from './server-process.ts';
import { startImaginary } from './imaginary-server.ts';
import { startThumbor } from './thumbor-server.ts';

/** Image servers other than ProgImage that bench:transform can measure beside it (`--others`). */
export const OTHER_SERVERS = ['imaginary', 'thumbor'] as const;
export type OtherServerName = (typeof OTHER_SERVERS)[number];

export const isOtherServer = (name: string): name is OtherServerName => (OTHER_SERVERS as readonly string[]).includes(name);

export function startOtherServer(name: OtherServerName, work: TransformWork): Promise<OtherServer> {
  return name === 'imaginary' ? startImaginary(work) : startThumbor(work);
}

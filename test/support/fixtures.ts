import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The curated test images shared by every project of the workplace (../shared beside the checkout). */
export const fixturePath = (name: string): string =>
  fileURLToPath(new URL(`../../../shared/fixtures/images/${name}`, import.meta.url));

export const readFixture = (name: string): Promise<Buffer> => readFile(fixturePath(name));

/** The 68-byte EICAR anti-virus test file: harmless, but every scanner must call it infected. */
export const EICAR = Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*', 'latin1');

import { readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { fileURLToPath } from 'node:url';

/** The curated test images shared by every project of the workplace (../shared beside the checkout). */
export const fixturePath = (name: string): string => fileURLToPath(new URL(`../../../shared/fixtures/images/${name}`, import.meta.url));

export const readFixture = (name: string): Promise<Buffer> => readFile(fixturePath(name));

/** The 68-byte EICAR anti-virus test file: harmless, but every scanner must call it infected. */
export const EICAR = Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*', 'latin1');

/** A real PNG whose header is rewritten to declare width x height (checksum kept valid): a pixel bomb as a decoder's header check sees it. */
export async function pngDeclaring(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await readFixture('with-alpha.png'));
  // Signature (8) + IHDR length and type (8), then width and height; the CRC covers type and data (13 bytes).
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

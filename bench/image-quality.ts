import sharp, { type Sharp } from 'sharp';

/**
 * How close an encoded image is to a lossless reference of the same size:
 * SSIM on luma (Wang et al. 2004: 11x11 Gaussian window, σ 1.5, K1 0.01,
 * K2 0.03, mean over the windows inside the image) and PSNR over the R, G and
 * B samples. Computed from sharp's raw pixels, so the benchmarks can set a
 * side's bytes beside the quality they bought.
 */
export interface Quality {
  readonly ssim: number;
  readonly psnrDb: number;
}

/** An image as 8-bit sRGB samples, three per pixel, row by row. */
export interface RgbPixels {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
}

export async function rgbPixels(image: Buffer | Sharp): Promise<RgbPixels> {
  const pipeline = Buffer.isBuffer(image) ? sharp(image) : image;
  const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels of sRGB, got ${info.channels}`);
  return { data, width: info.width, height: info.height };
}

const RADIUS = 5;
const KERNEL = (() => {
  const weights = Array.from({ length: 2 * RADIUS + 1 }, (_, index) => Math.exp(-((index - RADIUS) ** 2) / (2 * 1.5 ** 2)));
  const sum = weights.reduce((total, weight) => total + weight, 0);
  return weights.map((weight) => weight / sum);
})();

function luma({ data, width, height }: RgbPixels): Float64Array {
  const out = new Float64Array(width * height);
  for (let pixel = 0; pixel < out.length; pixel += 1) {
    out[pixel] = 0.299 * (data[pixel * 3] ?? 0) + 0.587 * (data[pixel * 3 + 1] ?? 0) + 0.114 * (data[pixel * 3 + 2] ?? 0);
  }
  return out;
}

/** The Gaussian-weighted mean of `values` around each pixel whose whole window is inside the image ((w-10) x (h-10) results). */
function blur(values: Float64Array, width: number, height: number): Float64Array {
  const innerWidth = width - 2 * RADIUS;
  const rows = new Float64Array(innerWidth * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < innerWidth; x += 1) {
      let sum = 0;
      for (let k = 0; k < KERNEL.length; k += 1) sum += (KERNEL[k] ?? 0) * (values[y * width + x + k] ?? 0);
      rows[y * innerWidth + x] = sum;
    }
  }
  const innerHeight = height - 2 * RADIUS;
  const out = new Float64Array(innerWidth * innerHeight);
  for (let y = 0; y < innerHeight; y += 1) {
    for (let x = 0; x < innerWidth; x += 1) {
      let sum = 0;
      for (let k = 0; k < KERNEL.length; k += 1) sum += (KERNEL[k] ?? 0) * (rows[(y + k) * innerWidth + x] ?? 0);
      out[y * innerWidth + x] = sum;
    }
  }
  return out;
}

function ssim(reference: Float64Array, image: Float64Array, width: number, height: number): number {
  const product = (a: Float64Array, b: Float64Array) => a.map((value, index) => value * (b[index] ?? 0));
  const muX = blur(reference, width, height);
  const muY = blur(image, width, height);
  const xx = blur(product(reference, reference), width, height);
  const yy = blur(product(image, image), width, height);
  const xy = blur(product(reference, image), width, height);
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  let sum = 0;
  for (let index = 0; index < muX.length; index += 1) {
    const mx = muX[index] ?? 0;
    const my = muY[index] ?? 0;
    const varX = (xx[index] ?? 0) - mx * mx;
    const varY = (yy[index] ?? 0) - my * my;
    const cov = (xy[index] ?? 0) - mx * my;
    sum += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (varX + varY + c2));
  }
  return sum / muX.length;
}

function psnr(reference: Buffer, image: Buffer): number {
  let squares = 0;
  for (let index = 0; index < reference.length; index += 1) squares += ((reference[index] ?? 0) - (image[index] ?? 0)) ** 2;
  const mse = squares / reference.length;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}

/** The quality of `image` (encoded bytes) against `reference` (lossless pixels of the same size). */
export async function measureQuality(reference: RgbPixels, image: Buffer): Promise<Quality> {
  const pixels = await rgbPixels(image);
  if (pixels.width !== reference.width || pixels.height !== reference.height) {
    throw new Error(`the image is ${pixels.width}x${pixels.height}, the reference ${reference.width}x${reference.height}`);
  }
  return {
    ssim: ssim(luma(reference), luma(pixels), reference.width, reference.height),
    psnrDb: psnr(reference.data, pixels.data),
  };
}

// One image file → one fixed-size uint8 tensor (HWC), or a short human reason why not.
// Every decode goes through sharp (libvips); nothing here touches the network or S3.
import sharp from 'sharp';
import { isSrgbProfile } from './icc';

export type ColorMode = 'rgb' | 'grayscale';
export type ResizeMode = 'cover' | 'contain' | 'fill';

export interface DecodeOptions {
  /** Output [height, width]. */
  size: [number, number];
  colorMode: ColorMode;
  /** cover: scale the shorter side to fit, then centre-crop; contain: letterbox; fill: stretch. */
  resize: ResizeMode;
  /** Images with more pixels than this are refused before any pixel is decoded. */
  maxPixels: number;
}

/** A file that is not a usable image. `reason` is short enough for a table row. */
export class ImageRejectedError extends Error {
  constructor(
    readonly reason: string,
    readonly detail?: string,
  ) {
    super(detail ? `${reason} (${detail})` : reason);
    this.name = 'ImageRejectedError';
  }
}

/** sharp's names for the formats we accept (AVIF reports as `heif`). SVG, PDF etc. are refused. */
const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);

/** Transparent pixels become white: cut-out photos and icons are drawn on white far more often than on black. */
const ALPHA_BACKGROUND = { r: 255, g: 255, b: 255 };
/** `contain` pads with black bars, the usual letterbox. */
const LETTERBOX_BACKGROUND = { r: 0, g: 0, b: 0, alpha: 1 };

/**
 * `warning` is the strictest level: besides truncated files (which `none` would decode with a
 * grey bottom) it refuses JPEGs with corrupt entropy-coded data, whose pixels are garbage too.
 */
const FAIL_ON = 'warning' as const;

export function channelsOf(colorMode: ColorMode): 1 | 3 {
  return colorMode === 'rgb' ? 3 : 1;
}

export async function imageToTensorBytes(bytes: Uint8Array, opts: DecodeOptions): Promise<Uint8Array> {
  const [height, width] = opts.size;
  if (bytes.length === 0) throw new ImageRejectedError('empty file');

  // The header alone (no pixels are decoded) tells the format and size, so a decompression
  // bomb is refused with its claimed size before libvips allocates anything for it.
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { failOn: FAIL_ON, limitInputPixels: false }).metadata();
  } catch (err) {
    throw rejection(err);
  }
  if (!meta.format || !ACCEPTED_FORMATS.has(meta.format)) {
    throw new ImageRejectedError(`unsupported image format: ${meta.format ?? 'unknown'}`);
  }
  const w = meta.width ?? 0;
  const h = meta.pageHeight ?? meta.height ?? 0;
  if (w * h > opts.maxPixels) throw tooLarge(w, h, opts.maxPixels);

  // limitInputPixels stays on as a second guard, for formats whose header understates the size.
  // An embedded sRGB profile is ignored: libvips would otherwise run every pixel through an
  // lcms sRGB→sRGB transform, a third of the decode's cost, to change values by a rounding
  // error. Other profiles (Adobe RGB, ProPhoto, camera RGB) are still converted to sRGB.
  let pipeline = sharp(bytes, { failOn: FAIL_ON, limitInputPixels: opts.maxPixels, pages: 1, page: 0, ignoreIcc: isSrgbProfile(meta.icc) })
    .rotate() // EXIF orientation, so a portrait photo is not trained on lying on its side
    .flatten({ background: ALPHA_BACKGROUND });
  pipeline = pipeline.toColourspace(opts.colorMode === 'rgb' ? 'srgb' : 'b-w');
  pipeline = pipeline.resize(width, height, {
    fit: opts.resize,
    position: 'centre',
    background: LETTERBOX_BACKGROUND,
  });

  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    // depth 'uchar' turns 16-bit PNG/TIFF into 8 bits per channel like everything else.
    out = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw rejection(err, w, h, opts.maxPixels);
  }
  const channels = channelsOf(opts.colorMode);
  const { info, data } = out;
  if (info.width !== width || info.height !== height || info.channels !== channels || data.length !== width * height * channels) {
    // Not the file's fault: a sharp behaviour this code does not expect. Fail loudly.
    throw new Error(`sharp produced ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}×${channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

function tooLarge(w: number, h: number, max: number): ImageRejectedError {
  return new ImageRejectedError(`too large: ${w}×${h} pixels exceeds the ${max.toLocaleString('en-US')}-pixel limit`);
}

/** Maps libvips' messages onto a few reasons a person can act on; the original stays in `detail`. */
function rejection(err: unknown, w?: number, h?: number, max?: number): ImageRejectedError {
  const detail = (err as Error)?.message?.split('\n')[0] ?? String(err);
  if (/unsupported image format/i.test(detail)) return new ImageRejectedError('not an image', detail);
  if (/empty/i.test(detail)) return new ImageRejectedError('empty file', detail);
  if (/pixel limit/i.test(detail) && w !== undefined && h !== undefined && max !== undefined) return tooLarge(w, h, max);
  return new ImageRejectedError('truncated or corrupt image data', detail);
}

/**
 * Pixels depend on the decoder, the resampler and how colour profiles are handled: a dataset
 * made by another libvips, or with sRGB profiles converted, is another dataset.
 */
export const DECODER_VERSION = `sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips} / sRGB profiles as is`;

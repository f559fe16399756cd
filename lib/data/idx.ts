// Parsing of IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or raw.
// Format: 2 zero bytes, a type byte (0x08 = uint8), a dimension count, then one
// big-endian uint32 per dimension, then the data in row-major order.
import * as zlib from 'node:zlib';
import { BadInputError } from '../errors';

export class IdxFormatError extends BadInputError {
  constructor(readonly source: string, problem: string) {
    super(`${source}: ${problem}`);
    this.name = 'IdxFormatError';
  }
}

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UINT8_TYPE = 0x08;

/** Decompresses a .gz buffer; a truncated or corrupt stream is an IdxFormatError naming the source. */
export function gunzipIdx(source: string, compressed: Uint8Array): Uint8Array {
  if (compressed.length < 2 || compressed[0] !== 0x1f || compressed[1] !== 0x8b) {
    throw new IdxFormatError(source, 'not a gzip file (expected magic bytes 1f 8b)');
  }
  try {
    return zlib.gunzipSync(compressed);
  } catch (err) {
    const reason = (err as Error).message;
    const hint = /unexpected end/i.test(reason) ? 'truncated gzip stream' : 'corrupt gzip stream';
    throw new IdxFormatError(source, `${hint} (${reason})`);
  }
}

/** Parses an uncompressed IDX buffer of unsigned bytes with the expected number of dimensions. */
export function parseIdx(source: string, bytes: Uint8Array, expectedRank: number): IdxArray {
  if (bytes.length < 4) throw new IdxFormatError(source, `file is ${bytes.length} bytes, too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const expectedMagic = (UINT8_TYPE << 8) | expectedRank;
  if (magic !== expectedMagic) {
    throw new IdxFormatError(
      source,
      `wrong magic number 0x${magic.toString(16).padStart(8, '0')}, expected 0x${expectedMagic.toString(16).padStart(8, '0')} (uint8, ${expectedRank} dimensions)`,
    );
  }
  const headerBytes = 4 + 4 * expectedRank;
  if (bytes.length < headerBytes) throw new IdxFormatError(source, `header truncated: ${bytes.length} of ${headerBytes} bytes`);
  const dims: number[] = [];
  for (let i = 0; i < expectedRank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const expectedLength = dims.reduce((a, b) => a * b, 1);
  const available = bytes.length - headerBytes;
  if (available !== expectedLength) {
    throw new IdxFormatError(
      source,
      `data is ${available} bytes but the header declares ${dims.join('×')} = ${expectedLength} bytes (${available < expectedLength ? 'truncated' : 'trailing bytes'})`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

export interface LabelledImages {
  count: number;
  height: number;
  width: number;
  images: Uint8Array; // count × height × width
  labels: Uint8Array; // count
}

/** Parses a pair of (images, labels) IDX buffers and checks they agree with each other and with the expected size. */
export function parseImageLabelPair(
  images: { source: string; bytes: Uint8Array },
  labels: { source: string; bytes: Uint8Array },
  expect: { height: number; width: number; numClasses: number },
): LabelledImages {
  const img = parseIdx(images.source, images.bytes, 3);
  const lab = parseIdx(labels.source, labels.bytes, 1);
  const [count, height, width] = img.dims;
  if (height !== expect.height || width !== expect.width) {
    throw new IdxFormatError(images.source, `images are ${height}×${width}, expected ${expect.height}×${expect.width}`);
  }
  if (lab.dims[0] !== count) {
    throw new IdxFormatError(labels.source, `label count ${lab.dims[0]} does not match image count ${count} in ${images.source}`);
  }
  for (let i = 0; i < lab.data.length; i++) {
    if (lab.data[i] >= expect.numClasses) {
      throw new IdxFormatError(labels.source, `label ${lab.data[i]} at index ${i} is out of range 0..${expect.numClasses - 1}`);
    }
  }
  return { count, height, width, images: img.data, labels: lab.data };
}

/** Encodes an IDX buffer (used by tests and tools that write subsets). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, (UINT8_TYPE << 8) | dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

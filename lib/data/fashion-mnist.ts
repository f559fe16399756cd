// Fashion-MNIST: where its four IDX files come from and how they are checked.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ArtifactStore, sha256Hex } from '../store/store';
import { BadInputError } from '../errors';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export const FASHION_MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;

export type FashionMnistFile = keyof typeof FASHION_MNIST_FILES;

export const CANONICAL_BASE_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

/** SHA-256 of the gzip files as published at the canonical URLs. */
export const CANONICAL_SHA256: Record<FashionMnistFile, string> = {
  trainImages: '08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc',
  trainLabels: 'b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc',
  testImages: '78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229',
  testLabels: '42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf',
};

/**
 * SHA-256 of the decompressed IDX files. Debian's dataset-fashion-mnist recompresses the
 * files (other gzip bytes), so the content is what identifies the original data.
 */
export const CANONICAL_CONTENT_SHA256: Record<FashionMnistFile, string> = {
  trainImages: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
  trainLabels: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
  testImages: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
  testLabels: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
};

export type FashionMnistSource =
  | { kind: 'dir'; location: string }
  | { kind: 'url'; location: string }
  | { kind: 's3'; location: string };

export class SourceError extends BadInputError {
  constructor(message: string) {
    super(message);
    this.name = 'SourceError';
  }
}

/** Interprets a --source string: an s3:// prefix, an http(s) base URL, or a directory. */
export function parseSource(spec: string, bucket: string): FashionMnistSource {
  if (spec.startsWith('s3://')) {
    const rest = spec.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const b = slash < 0 ? rest : rest.slice(0, slash);
    if (b !== bucket) throw new SourceError(`source ${spec}: bucket ${JSON.stringify(b)} is not the configured bucket ${JSON.stringify(bucket)}`);
    return { kind: 's3', location: slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '') };
  }
  if (/^https?:\/\//.test(spec)) return { kind: 'url', location: spec.endsWith('/') ? spec : `${spec}/` };
  if (spec === 'canonical') return { kind: 'url', location: CANONICAL_BASE_URL };
  return { kind: 'dir', location: path.resolve(spec) };
}

export interface SourceFile {
  name: string;
  bytes: Uint8Array;
  sha256: string;
}

/** Reads the four gzip files from the source; URL downloads must match the published hashes. */
export async function readSourceFiles(
  source: FashionMnistSource,
  store: ArtifactStore,
): Promise<Record<FashionMnistFile, SourceFile>> {
  if (source.kind === 'dir') {
    const stat = await fs.promises.stat(source.location).catch(() => undefined);
    if (!stat?.isDirectory()) {
      throw new SourceError(
        `source directory ${source.location} does not exist (install Debian's dataset-fashion-mnist, or pass --source <dir|url|s3://bucket/prefix>)`,
      );
    }
  }
  const out = {} as Record<FashionMnistFile, SourceFile>;
  for (const [id, name] of Object.entries(FASHION_MNIST_FILES) as [FashionMnistFile, string][]) {
    const bytes = await readOne(source, name, store);
    const sha256 = sha256Hex(bytes);
    if (source.kind === 'url' && sha256 !== CANONICAL_SHA256[id]) {
      throw new SourceError(`${source.location}${name}: SHA-256 ${sha256} does not match the published ${CANONICAL_SHA256[id]}`);
    }
    out[id] = { name, bytes, sha256 };
  }
  return out;
}

async function readOne(source: FashionMnistSource, name: string, store: ArtifactStore): Promise<Uint8Array> {
  switch (source.kind) {
    case 'dir': {
      const file = path.join(source.location, name);
      try {
        return await fs.promises.readFile(file);
      } catch (err) {
        throw new SourceError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
    }
    case 'url': {
      const url = `${source.location}${name}`;
      let res: Response;
      try {
        res = await fetch(url, { signal: AbortSignal.timeout(120_000) });
      } catch (err) {
        throw new SourceError(`${url}: download failed (${(err as Error).message})`);
      }
      if (!res.ok) throw new SourceError(`${url}: download failed with HTTP ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    }
    case 's3':
      return store.getBytes(source.location ? `${source.location}/${name}` : name);
  }
}

// The S3 client every tl process uses, built from the configuration: static keys (set, or generated
// by the local stack) or else the AWS SDK's default credential chain, path-style or virtual-hosted
// addressing, an optional CA bundle, and the server-side encryption every PUT asks for.
import * as fs from 'node:fs';
import * as https from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { ConfigError, credentialsFile, type Config } from '../config';

export type S3Settings = Config['s3'];

const CHAIN = 'environment (AWS_ACCESS_KEY_ID), shared config/profiles (AWS_PROFILE), web identity (IRSA), container or instance metadata';

/** The default chain, with an error that says what was tried and how to fix it (and no secrets). */
function defaultChain(stateDir: string): ReturnType<typeof defaultProvider> {
  const provider = defaultProvider();
  return async () => {
    try {
      return await provider();
    } catch (err) {
      throw new ConfigError(
        `no S3 credentials found: TL_S3_ACCESS_KEY/TL_S3_SECRET_KEY are not set, the local stack's ${credentialsFile(stateDir)} does not exist, ` +
          `and the AWS SDK's default chain found nothing (${CHAIN}): ${(err as Error).message.split('\n')[0]}`,
      );
    }
  };
}

/** Client options for these settings; `extra` tunes retries and timeouts per caller. */
export function s3ClientConfig(s3: S3Settings, stateDir: string, extra: { maxAttempts?: number; connectionTimeout?: number; requestTimeout?: number } = {}): S3ClientConfig {
  const credentials =
    s3.credentialSource === 'default-chain' ? defaultChain(stateDir) : { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  const timeouts = { connectionTimeout: extra.connectionTimeout, requestTimeout: extra.requestTimeout };
  // The SDK builds its Node HTTP handler from these options.
  const requestHandler = s3.caFile
    ? { ...timeouts, httpsAgent: new https.Agent({ keepAlive: true, ca: readCaBundle(s3.caFile) }) }
    : extra.connectionTimeout || extra.requestTimeout
      ? timeouts
      : undefined;
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials,
    maxAttempts: extra.maxAttempts ?? 5,
    ...(requestHandler ? { requestHandler } : {}),
  };
}

export function createS3Client(config: Pick<Config, 's3' | 'stateDir'>, extra?: Parameters<typeof s3ClientConfig>[2]): S3Client {
  return new S3Client(s3ClientConfig(config.s3, config.stateDir, extra));
}

function readCaBundle(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new ConfigError(`TL_S3_CA_FILE=${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Parameters every PutObject / multipart upload carries for server-side encryption. */
export function encryptionParams(s3: S3Settings): { ServerSideEncryption?: 'AES256' | 'aws:kms'; SSEKMSKeyId?: string } {
  if (!s3.sse) return {};
  return s3.sse.kmsKeyId ? { ServerSideEncryption: s3.sse.algorithm, SSEKMSKeyId: s3.sse.kmsKeyId } : { ServerSideEncryption: s3.sse.algorithm };
}

/** Where the credentials come from, fit to print (names a source, never a key). */
export function describeCredentialSource(config: Pick<Config, 's3' | 'stateDir'>): string {
  switch (config.s3.credentialSource) {
    case 'environment':
      return 'TL_S3_ACCESS_KEY / TL_S3_SECRET_KEY';
    case 'stack':
      return `the local stack's generated credentials (${credentialsFile(config.stateDir)})`;
    case 'default-chain':
      return "the AWS SDK's default credential chain";
  }
}

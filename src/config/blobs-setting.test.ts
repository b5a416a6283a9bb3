// STRONGROOM_BLOBS: a folder or an s3:// URL, and never credentials in it.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

function problemsOf(value: string): string[] {
  try {
    loadConfig({ env: { STRONGROOM_BLOBS: value } });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('STRONGROOM_BLOBS', () => {
  it('defaults to the data directory’s own folder, as before', () => {
    expect(loadConfig({ env: {} }).blobs).toEqual({ kind: 'folder' });
    expect(loadConfig({ env: { STRONGROOM_BLOBS: '' } }).blobs).toEqual({ kind: 'folder' });
  });

  it('takes a folder path, made absolute', () => {
    expect(loadConfig({ env: { STRONGROOM_BLOBS: '/mnt/vault-blobs' } }).blobs).toEqual({ kind: 'folder', dir: '/mnt/vault-blobs' });
    expect(loadConfig({ env: { STRONGROOM_BLOBS: 'blobs-here' } }).blobs).toEqual({ kind: 'folder', dir: path.resolve('blobs-here') });
  });

  it('takes an AWS bucket with a prefix, path-style off unless asked', () => {
    expect(loadConfig({ env: { STRONGROOM_BLOBS: 's3://council-vault/strongroom/blobs/?region=eu-west-2' } }).blobs).toEqual({
      kind: 's3', bucket: 'council-vault', prefix: 'strongroom/blobs/', region: 'eu-west-2', forcePathStyle: false,
    });
    expect(loadConfig({ env: { STRONGROOM_BLOBS: 's3://council-vault' } }).blobs).toEqual({ kind: 's3', bucket: 'council-vault', prefix: '', forcePathStyle: false });
  });

  it('takes a MinIO or Ceph endpoint with path-style requests', () => {
    expect(loadConfig({ env: { STRONGROOM_BLOBS: 's3://vault/blobs?endpoint=https%3A%2F%2Fminio.council.internal%3A9000&forcePathStyle=true' } }).blobs).toEqual({
      kind: 's3', bucket: 'vault', prefix: 'blobs/', endpoint: 'https://minio.council.internal:9000', forcePathStyle: true,
    });
  });

  it('refuses credentials in the URL, pointing at the environment instead', () => {
    for (const value of ['s3://AKIAEXAMPLE:secret@vault/blobs', 's3://vault/blobs?accessKeyId=AKIA&secretAccessKey=x', 's3://vault?endpoint=https%3A%2F%2Fuser%3Apass%40minio%3A9000']) {
      const problems = problemsOf(value).join('\n');
      expect(problems, value).toMatch(/^STRONGROOM_BLOBS: /);
      expect(problems, value).toMatch(/credentials/);
    }
    expect(problemsOf('s3://AKIAEXAMPLE:secret@vault/blobs').join('\n')).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  });

  it('lists every problem with an s3:// URL at once', () => {
    const problems = problemsOf('s3://Not_A_Bucket/x?endpoint=ftp%3A%2F%2Fhost&region=eu%20west&forcePathStyle=yes&colour=blue');
    expect(problems).toEqual([
      'STRONGROOM_BLOBS: "Not_A_Bucket" is not a valid bucket name (3 to 63 lower-case letters, digits, dots and hyphens)',
      'STRONGROOM_BLOBS: unknown setting "colour" (known: endpoint, region, forcePathStyle)',
      'STRONGROOM_BLOBS: endpoint "ftp://host" must be an http:// or https:// URL without credentials',
      'STRONGROOM_BLOBS: region "eu west" must be a region name such as eu-west-2',
      'STRONGROOM_BLOBS: forcePathStyle must be true or false',
    ]);
  });

  it('refuses other URL schemes rather than reading them as folders', () => {
    expect(problemsOf('gs://bucket/x')).toEqual(['STRONGROOM_BLOBS: must be a folder path or s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=true']);
  });
});

describe('STRONGROOM_REPLICA', () => {
  const base = { STRONGROOM_DATA: '/srv/strongroom' };
  it('defaults to a blobs folder in the offsite folder, beside the data directory', () => {
    expect(loadConfig({ env: base }).replica).toEqual({ kind: 'folder', dir: '/srv/strongroom-offsite/blobs' });
    expect(loadConfig({ env: { ...base, STRONGROOM_OFFSITE: '/mnt/offsite' } }).replica).toEqual({ kind: 'folder', dir: '/mnt/offsite/blobs' });
  });
  it('is turned off by "none", and takes a folder or a bucket like STRONGROOM_BLOBS', () => {
    expect(loadConfig({ env: { ...base, STRONGROOM_REPLICA: 'none' } }).replica).toBeNull();
    expect(loadConfig({ env: { ...base, STRONGROOM_REPLICA: '/mnt/replica' } }).replica).toEqual({ kind: 'folder', dir: '/mnt/replica' });
    expect(loadConfig({ env: { ...base, STRONGROOM_REPLICA: 's3://offsite-bucket/strongroom?region=eu-west-1' } }).replica)
      .toEqual({ kind: 's3', bucket: 'offsite-bucket', prefix: 'strongroom/', region: 'eu-west-1', forcePathStyle: false });
  });
  it('refuses a replica where the blobs themselves are, and credentials in its URL', () => {
    expect(() => loadConfig({ env: { ...base, STRONGROOM_REPLICA: '/srv/strongroom/blobs' } })).toThrow(/STRONGROOM_REPLICA: must not be where the blobs themselves are/);
    expect(() => loadConfig({ env: { ...base, STRONGROOM_BLOBS: 's3://b1/p', STRONGROOM_REPLICA: 's3://b1/p' } })).toThrow(/STRONGROOM_REPLICA: must not be where/);
    expect(() => loadConfig({ env: { ...base, STRONGROOM_REPLICA: 's3://key:secret@bucket/p' } })).toThrow(/STRONGROOM_REPLICA: must not carry credentials/);
  });
  it('keeps apart from the blobs when the offsite folder is the data directory itself', () => {
    expect(loadConfig({ env: { ...base, STRONGROOM_OFFSITE: '/srv/strongroom' } }).replica).toEqual({ kind: 'folder', dir: '/srv/strongroom/blobs-replica' });
  });
});

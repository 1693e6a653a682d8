import { randomUUID } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import { access, copyFile, link, mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { errorCode, syncDirectory, writeFileDurably } from '../durable-files.ts';
import { DependencyUnavailableError } from '../errors.ts';
import {
  BlobNotFoundError,
  InvalidBlobKeyError,
  assertBlobKey,
  assertBlobKeyPrefix,
  contentSha256,
  type BlobInfo,
  type BlobStore,
  type ByteRange,
  type PutOptions,
} from '../ports/blob-store.ts';

/*
 * Layout under the root, for the key "images/abc/original.jpg":
 *
 *   images/abc/original.jpg@meta.json          the commit point: {version, contentType, sha256, size, lastModified}
 *   images/abc/original.jpg@data-<version>     the bytes of that version, never changed once written
 *   images/abc/original.jpg@tmp-<uuid>         a metadata file being written, or one being deleted
 *
 * Folders are key segments and every file name holds an "@", which no key
 * segment can: no key can ever land on a file of another key, and "a" and
 * "a/b" can both be blobs, as in S3.
 *
 * A put writes a new version beside the old one, then replaces the metadata
 * file by a rename: that rename is the moment the blob changes, so content
 * and metadata always change together, a reader sees the old blob or the new
 * one, and a crash leaves the old one. A reader that finds its version
 * retired by a concurrent put or delete simply reads the metadata again.
 * Data and metadata are fsync-ed before the rename, so the commit survives a
 * power loss. Concurrent puts on one key can each leave an unreferenced data
 * file behind (never visible, never read); a crash can leave @data/@tmp files.
 */

const META_SUFFIX = '@meta.json';
const dataSuffix = (version: string): string => `@data-${version}`;
const temporarySuffix = (): string => `@tmp-${randomUUID()}`;

/** One key segment, as BLOB_KEY_PATTERN allows it (readdir never lists "." or ".."). */
const KEY_SEGMENT = /^[A-Za-z0-9._-]+$/;

/** How often a read starts again when concurrent writes keep retiring the version it found. */
const READ_ATTEMPTS = 5;

const metadataSchema = z.object({
  version: z.uuid(),
  contentType: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  lastModified: z.iso.datetime(),
});
type Metadata = z.infer<typeof metadataSchema>;

/** Where one key's files are. */
interface Location {
  readonly key: string;
  readonly dir: string;
  readonly meta: string;
  data(version: string): string;
  temporary(): string;
}

const isMissing = (error: unknown): boolean => errorCode(error) === 'ENOENT';

function isInside(root: string, path: string): boolean {
  const fromRoot = relative(root, path);
  return fromRoot !== '' && fromRoot !== '..' && !fromRoot.startsWith(`..${sep}`) && !isAbsolute(fromRoot);
}

/** A second name for an immutable data file; a copy where the file system has no hard links. */
async function linkOrCopy(source: string, target: string): Promise<void> {
  try {
    await link(source, target);
  } catch (error) {
    if (isMissing(error)) throw error;
    await copyFile(source, target, constants.COPYFILE_FICLONE);
    const copy = await open(target, 'r+');
    try {
      await copy.sync();
    } finally {
      await copy.close();
    }
  }
}

function toBlobInfo(key: string, metadata: Metadata): BlobInfo {
  const { contentType, sha256, size, lastModified } = metadata;
  return { key, size, contentType, sha256, lastModified: new Date(lastModified) };
}

/**
 * The embedded blob store: blobs as files in a local folder, for running
 * ProgImage in one process without servers. Safe for several stores (or
 * processes) on one folder; not meant for a network file system.
 */
export class FolderBlobStore implements BlobStore {
  /** @param root an absolute path to an existing folder */
  constructor(private readonly root: string) {}

  async put(key: string, body: Buffer, options: PutOptions): Promise<BlobInfo> {
    const at = this.locate(key);
    await mkdir(at.dir, { recursive: true });
    const version = randomUUID();
    try {
      await writeFileDurably(at.data(version), body, 'wx');
    } catch (error) {
      await rm(at.data(version), { force: true }); // e.g. a full disk: leave no partial file behind
      throw error;
    }
    const info: BlobInfo = {
      key,
      size: body.length,
      contentType: options.contentType,
      sha256: contentSha256(body),
      lastModified: new Date(),
    };
    await this.commit(at, version, info);
    return info;
  }

  async get(key: string): Promise<Buffer> {
    const file = await this.openCommitted(this.locate(key));
    try {
      return await file.readFile();
    } finally {
      await file.close();
    }
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    const file = await this.openCommitted(this.locate(key));
    return file.createReadStream(range === undefined ? {} : { start: range.start, end: range.end }); // closes the file when it ends or is destroyed
  }

  async stat(key: string): Promise<BlobInfo | null> {
    const metadata = await this.readMetadata(this.locate(key).meta);
    return metadata === null ? null : toBlobInfo(key, metadata);
  }

  async move(from: string, to: string): Promise<void> {
    const source = this.locate(from);
    const target = this.locate(to);
    if (from === to) {
      if ((await this.readMetadata(source.meta)) === null) throw new BlobNotFoundError(from);
      return;
    }
    const version = randomUUID();
    const copied = await this.withCommitted(source, async (metadata) => {
      await mkdir(target.dir, { recursive: true });
      await linkOrCopy(source.data(metadata.version), target.data(version));
      return metadata;
    });
    if (copied === null) {
      // The source is gone: this move was already done, unless there is nothing at the target either.
      if ((await this.readMetadata(target.meta)) === null) throw new BlobNotFoundError(from);
      return;
    }
    await this.commit(target, version, { ...toBlobInfo(to, copied), lastModified: new Date() });
    await this.delete(from);
  }

  async delete(key: string): Promise<void> {
    const at = this.locate(key);
    // Renaming the metadata away deletes the blob at once, and tells exactly which version to clean up.
    const claimed = at.temporary();
    try {
      await rename(at.meta, claimed);
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    await syncDirectory(at.dir);
    const metadata = await this.readMetadata(claimed).catch(() => null);
    if (metadata !== null) await rm(at.data(metadata.version), { force: true });
    await rm(claimed, { force: true });
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    assertBlobKeyPrefix(prefix);
    const lastSlash = prefix.lastIndexOf('/');
    yield* this.walk(prefix.slice(0, lastSlash + 1), prefix.slice(lastSlash + 1));
  }

  async checkHealth(): Promise<void> {
    try {
      if (!(await stat(this.root)).isDirectory()) throw new Error(`${this.root} is not a folder`);
      await access(this.root, constants.R_OK | constants.W_OK);
    } catch (error) {
      throw new DependencyUnavailableError(`the blob folder ${this.root} is not usable`, error);
    }
  }

  /** The files of `key`; refuses a key that is invalid or would resolve outside the root. */
  private locate(key: string): Location {
    assertBlobKey(key);
    const base = resolve(this.root, ...key.split('/'));
    if (!isInside(this.root, base)) throw new InvalidBlobKeyError(key);
    return {
      key,
      dir: dirname(base),
      meta: `${base}${META_SUFFIX}`,
      data: (version) => `${base}${dataSuffix(version)}`,
      temporary: () => `${base}${temporarySuffix()}`,
    };
  }

  /** Makes `version` the blob at `at`, then removes the version it replaced. */
  private async commit(at: Location, version: string, info: BlobInfo): Promise<void> {
    const replaced = await this.readMetadata(at.meta).catch(() => null);
    const metadata: Metadata = {
      version,
      contentType: info.contentType,
      sha256: info.sha256,
      size: info.size,
      lastModified: info.lastModified.toISOString(),
    };
    const pending = at.temporary();
    try {
      await writeFileDurably(pending, JSON.stringify(metadata), 'wx');
      await rename(pending, at.meta);
    } catch (error) {
      await Promise.all([rm(pending, { force: true }), rm(at.data(version), { force: true })]);
      throw error;
    }
    await syncDirectory(at.dir);
    if (replaced !== null && replaced.version !== version) await rm(at.data(replaced.version), { force: true });
  }

  private async readMetadata(path: string): Promise<Metadata | null> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new Error(`${path} is not blob metadata: ${String(error)}`);
    }
    const parsed = metadataSchema.safeParse(json);
    if (!parsed.success) throw new Error(`${path} is not blob metadata: ${parsed.error.message}`);
    return parsed.data;
  }

  /**
   * Runs `use` on the version of the blob committed now, again if a
   * concurrent put or delete retires that version meanwhile (ENOENT).
   * Null when there is no blob.
   */
  private async withCommitted<T>(at: Location, use: (metadata: Metadata) => Promise<T>): Promise<T | null> {
    for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt++) {
      const metadata = await this.readMetadata(at.meta);
      if (metadata === null) return null;
      try {
        return await use(metadata);
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    throw new DependencyUnavailableError(`the blob at ${at.key} kept changing while being read`);
  }

  private async openCommitted(at: Location) {
    const file = await this.withCommitted(at, (metadata) => open(at.data(metadata.version), 'r'));
    if (file === null) throw new BlobNotFoundError(at.key);
    return file;
  }

  /** Yields the blobs under the folder of `dirKey` ("" or ending in "/") whose next segment starts with `namePrefix`, in key order. */
  private async *walk(dirKey: string, namePrefix: string): AsyncGenerator<BlobInfo> {
    const dir = resolve(this.root, ...dirKey.split('/').filter((segment) => segment !== ''));
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    // A folder sorts as its name followed by "/", so that the walk follows the byte order of whole keys
    // ("a-c" < "a/b" < "a0", as S3 lists them); ASCII keys compare the same as code units and as bytes.
    const children: { readonly name: string; readonly isFolder: boolean }[] = [];
    for (const entry of entries) {
      if (entry.isDirectory() && KEY_SEGMENT.test(entry.name)) {
        children.push({ name: `${entry.name}/`, isFolder: true });
      } else if (entry.isFile() && entry.name.endsWith(META_SUFFIX)) {
        const name = entry.name.slice(0, -META_SUFFIX.length);
        if (KEY_SEGMENT.test(name)) children.push({ name, isFolder: false });
      }
    }
    const chosen = children.filter((child) => child.name.startsWith(namePrefix));
    chosen.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const child of chosen) {
      const key = `${dirKey}${child.name}`;
      if (child.isFolder) {
        yield* this.walk(key, '');
      } else {
        const info = await this.stat(key); // null when deleted since the folder was read
        if (info !== null) yield info;
      }
    }
  }
}

/** The blob store in the folder `root`, created if missing. */
export async function createFolderBlobStore(root: string): Promise<FolderBlobStore> {
  const absolute = resolve(root);
  await mkdir(absolute, { recursive: true });
  return new FolderBlobStore(absolute);
}

// A repository in a local directory. put() writes a dot-named temporary file
// beside the target, fsyncs it, renames it into place and fsyncs the
// directory: the key appears complete and durable, or not at all.
import { constants, type Dirent } from 'node:fs';
import { lstat, open, readdir, rm, stat as fsStat } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import type { Readable } from 'node:stream';
import { fsyncDir, mkdirDurable, writeTemp } from '../fsync.js';
import { hashing } from './hashing.js';
import { assertKey, assertPrefix, isValidKey } from './keys.js';
import { StorageError, type ObjectInfo, type PutBody, type PutOptions, type PutResult, type StorageBackend } from './types.js';

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

function ioError(op: string, path: string, e: unknown): StorageError {
  const code = errno(e);
  if (code === 'EACCES' || code === 'EPERM') return new StorageError('access_denied', `${op} ${path}: permission denied`, { cause: e });
  return new StorageError('io', `${op} ${path}: ${(e as Error).message}`, { cause: e });
}

export class LocalBackend implements StorageBackend {
  readonly location: string;
  /** The write loop holds only the caller's chunk being written: nothing of its own. */
  readonly maxBufferedBytes = 0;

  constructor(readonly root: string) {
    if (!isAbsolute(root)) throw new StorageError('invalid', `repository directory must be an absolute path: ${JSON.stringify(root)}`);
    this.root = normalize(root).replace(/(.)\/+$/, '$1');
    this.location = this.root;
  }

  private path(key: string): string {
    assertKey(key);
    return join(this.root, ...key.split('/'));
  }

  async check(): Promise<void> {
    let st;
    try {
      st = await fsStat(this.root);
    } catch (e) {
      if (errno(e) === 'ENOENT') throw new StorageError('not_found', `repository directory ${this.root} does not exist`);
      throw ioError('stat', this.root, e);
    }
    if (!st.isDirectory()) throw new StorageError('invalid', `repository ${this.root} is not a directory`);
  }

  async put(key: string, body: PutBody, opts: PutOptions = {}): Promise<PutResult> {
    const path = this.path(key);
    const dir = join(path, '..');
    const { source, state } = hashing(body, opts.onProgress);
    try {
      await mkdirDurable(dir);
      const tmp = await writeTemp(dir, source);
      try {
        await tmp.commit(path);
      } catch (e) {
        await tmp.discard();
        throw e;
      }
    } catch (e) {
      // A failing source stream is the caller's error: pass it on unchanged.
      if (state.sourceError !== undefined || e instanceof StorageError) throw e;
      throw ioError('put', path, e);
    }
    return { key, bytes: state.bytes, sha256: state.sha256() };
  }

  async get(key: string): Promise<Readable> {
    const path = this.path(key);
    let fh;
    try {
      // O_NOFOLLOW: a symlink planted in the repository is not followed.
      fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (e) {
      if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') throw new StorageError('not_found', `${path} does not exist`);
      if (errno(e) === 'ELOOP') throw new StorageError('invalid', `${path} is a symbolic link`);
      throw ioError('open', path, e);
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new StorageError('invalid', `${path} is not a regular file`);
    }
    return fh.createReadStream({ highWaterMark: 256 * 1024 });
  }

  async *list(prefix = ''): AsyncIterable<ObjectInfo> {
    assertPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash < 0 ? '' : prefix.slice(0, slash);
    const start = dirKey === '' ? this.root : join(this.root, ...dirKey.split('/'));
    const stack: string[] = [dirKey];
    let first = true;
    while (stack.length > 0) {
      const rel = stack.pop()!;
      const dir = rel === '' ? this.root : join(this.root, ...rel.split('/'));
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        // The prefix's directory not existing just means nothing matches.
        if (first && (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR')) return;
        throw ioError('list', first ? start : dir, e);
      }
      first = false;
      for (const ent of entries) {
        const key = rel === '' ? ent.name : `${rel}/${ent.name}`;
        // Temporary (dot) files and anything outside the key grammar are not objects.
        if (!isValidKey(key)) continue;
        if (ent.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) stack.push(key);
        } else if (ent.isFile() && key.startsWith(prefix)) {
          try {
            const st = await lstat(join(dir, ent.name));
            yield { key, size: st.size, modified: st.mtime };
          } catch (e) {
            if (errno(e) !== 'ENOENT') throw ioError('stat', join(dir, ent.name), e); // deleted meanwhile
          }
        }
      }
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.path(key);
    try {
      await rm(path, { force: true });
      await fsyncDir(join(path, '..'));
    } catch (e) {
      if (errno(e) === 'ENOENT') return;
      throw ioError('delete', path, e);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const path = this.path(key);
    try {
      const st = await lstat(path);
      if (!st.isFile()) return undefined;
      return { key, size: st.size, modified: st.mtime };
    } catch (e) {
      if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return undefined;
      throw ioError('stat', path, e);
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }
}

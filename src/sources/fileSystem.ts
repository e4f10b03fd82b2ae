import { readFile, stat } from 'node:fs/promises';

export interface FileStat {
  size: number;
  mtimeMs: number;
  ino: number;
}

/** The slice of the filesystem the sources read through; tests substitute their own. */
export interface FileSystem {
  readFile(path: string): Promise<Buffer>;
  stat(path: string): Promise<FileStat>;
}

export const nodeFileSystem: FileSystem = {
  readFile: (path) => readFile(path),
  stat: async (path) => {
    const s = await stat(path);
    return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
  },
};

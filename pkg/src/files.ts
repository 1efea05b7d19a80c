// A file as a source `decryptSource` reads twice, on hosts with Node's `fs` (Node, Bun,
// Deno). Node's own ways slow a verified open (measured in benches/streams.mjs):
// `Readable.toWeb(fs.createReadStream(…))` copies every chunk, and `fs.openAsBlob`
// reads at some 700 MB/s. Here each read goes straight into the array the stream hands
// on, an array Node does not fill with zeros first (that alone took as long as the
// read). `node:fs` and `node:buffer` are found at run time (`process.getBuiltinModule`),
// never imported, so no bundler or browser follows them.
import type { ByteStream } from "./host.js";
import type { Rereadable } from "./types.js";

/** The parts of `node:fs`, `node:path` and `node:buffer` used here. */
interface NodeFs {
  statSync(path: string): FileStat;
  constants: { O_RDONLY: number; O_NONBLOCK: number };
  promises: { open(path: string, flags: number): Promise<FileHandle> };
}
interface NodePath {
  resolve(path: string): string;
}
interface NodeBuffer {
  Buffer: { allocUnsafeSlow(size: number): Uint8Array };
}
interface FileStat {
  size: number;
  isFile(): boolean;
  isDirectory(): boolean;
}
interface FileHandle {
  stat(): Promise<FileStat>;
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}
/** What is used of the host's modules. */
interface Host {
  fs: NodeFs;
  path: NodePath;
  buffer: NodeBuffer;
}

/** A read's size: in Node, 1 MiB reads beat 64 KiB (the default) and 4 MiB through a stream. */
const READ = 1 << 20;

/**
 * A file to give `decryptSource` (Node 20.16 or later, and hosts with its
 * `process.getBuiltinModule`): its size now, and on each `stream()` its bytes read anew
 * from the first, 1 MiB at a time (a relative path is the file it names now). A file
 * that changes between the passes is refused before the change is released, as for any
 * source; what is not a regular file (a directory, a pipe, even one put in its place
 * later) is a `TypeError`. The file system's own errors (`ENOENT`…) are thrown as they
 * come. Each stream opens the file at its first read and closes it however it ends.
 *
 * @example A sealed file opened to a file, verified first (Node)
 * ```ts
 * import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Readable } from "node:stream";
 * import { pipeline } from "node:stream/promises";
 * import { decryptSource, encrypt, fileSource, WebCryptoKeyProvider } from "kms-instance/envelope";
 *
 * const keys = await WebCryptoKeyProvider.generate(["acs:kms:cn-hangzhou:1207089758810000:key/key-web"]);
 * const dir = mkdtempSync(join(tmpdir(), "backup-"));
 * writeFileSync(join(dir, "backup.kms"), await encrypt([keys], new TextEncoder().encode("hello")));
 * await pipeline(Readable.fromWeb(decryptSource([keys], fileSource(join(dir, "backup.kms")))), createWriteStream(join(dir, "backup.txt")));
 * console.log(readFileSync(join(dir, "backup.txt"), "utf8")); // hello
 * ```
 */
export function fileSource(path: string): Rereadable {
  if (typeof path !== "string") throw new TypeError("path must be a string (a file's path)");
  const modules = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const [fs, nodePath, buffer] = ["node:fs", "node:path", "node:buffer"].map((id) => modules?.getBuiltinModule?.(id));
  if (!fs || !nodePath || !buffer) throw new TypeError("fileSource needs Node's fs (Node 20.16 or later); on this host, give decryptSource a Blob");
  const host = { fs, path: nodePath, buffer } as Host;
  // Each pass opens the file again: the same file, whatever the working directory becomes.
  const absolute = host.path.resolve(path);
  const stat = host.fs.statSync(absolute);
  notAFile(absolute, stat);
  return { size: stat.size, stream: () => reading(host, absolute) };
}

/** A `TypeError` for what is not a regular file: it cannot be read twice (decryptStream reads it once). */
function notAFile(path: string, stat: FileStat): void {
  if (!stat.isFile()) {
    throw new TypeError(`${path} is ${stat.isDirectory() ? "a directory" : "not a regular file (a pipe, a socket, a device)"}: decryptSource reads a file twice; decryptStream reads a stream once`);
  }
}

/**
 * The file's bytes from the first, in new arrays: each is read into memory not zeroed,
 * and handed on only if the read filled it (a shorter read is copied out, so no byte the
 * file did not give is ever seen). The file is opened at the first read (nothing is read
 * ahead: a stream made and never read opens nothing), without blocking and checked to
 * be a regular file still (a pipe put in its place would block a read forever), and
 * closed at its end, on an error, or when the stream is cancelled (a read under way then
 * fails to enqueue, and closes it).
 */
function reading({ fs, buffer }: Host, path: string): ByteStream {
  let file: FileHandle | undefined;
  let at = 0;
  const close = async () => {
    const open = file;
    file = undefined;
    await open?.close();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (!file) {
            file = await fs.promises.open(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
            notAFile(path, await file.stat());
          }
          const bytes = unzeroed(buffer, READ);
          const { bytesRead } = await file.read(bytes, 0, READ, at);
          if (bytesRead === 0) {
            await close();
            controller.close();
            return;
          }
          at += bytesRead;
          controller.enqueue(bytesRead === READ ? bytes : bytes.slice(0, bytesRead));
        } catch (e) {
          await close().catch(() => {});
          throw e;
        }
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
}

/** `size` bytes of memory of their own, not zeroed (zeroed where the host's Buffer would share its pool). */
function unzeroed(buffer: NodeBuffer, size: number): Uint8Array {
  const bytes = buffer.Buffer.allocUnsafeSlow(size);
  // A Uint8Array of its own (a Buffer's slice() would not copy).
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === size ? new Uint8Array(bytes.buffer, 0, size) : new Uint8Array(size);
}

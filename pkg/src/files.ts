// A file as a source `decryptSource` reads twice, on hosts with Node's `fs` (Node, Bun,
// Deno). Node's own ways slow a verified open (measured in benches/streams.mjs):
// `Readable.toWeb(fs.createReadStream(…))` copies every chunk, and `fs.openAsBlob`
// reads at some 700 MB/s. Here each read goes straight into the array the stream hands
// on, an array Node does not fill with zeros first (that alone took as long as the
// read). `node:fs` and `node:buffer` are found at run time (`process.getBuiltinModule`),
// never imported, so no bundler or browser follows them.
import type { ByteStream } from "./host.js";
import type { Rereadable } from "./types.js";

/** The parts of `node:fs` and `node:buffer` used here. */
interface NodeFs {
  statSync(path: string): { size: number; isFile(): boolean };
  promises: { open(path: string, flags: "r"): Promise<FileHandle> };
}
interface NodeBuffer {
  Buffer: { allocUnsafeSlow(size: number): Uint8Array };
}
interface FileHandle {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/** A read's size: in Node, 1 MiB reads beat 64 KiB (the default) and 4 MiB through a stream. */
const READ = 1 << 20;

/**
 * A file to give `decryptSource` (Node 20.16 or later, and hosts with its
 * `process.getBuiltinModule`): its size now, and on each `stream()` its bytes read anew
 * from the first, 1 MiB at a time. A file that changes between the passes is refused
 * before the change is released, as for any source. The file system's own errors
 * (`ENOENT`…) are thrown as they come.
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
  const host = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = host?.getBuiltinModule?.("node:fs") as NodeFs | undefined;
  const buffer = host?.getBuiltinModule?.("node:buffer") as NodeBuffer | undefined;
  if (!fs || !buffer) throw new TypeError("fileSource needs Node's fs (Node 20.16 or later); on this host, give decryptSource a Blob");
  const stat = fs.statSync(path);
  if (!stat.isFile()) throw new TypeError(`${path} is not a file: a pipe or a device cannot be read twice (decryptStream reads it once)`);
  return { size: stat.size, stream: () => reading(fs, buffer, path) };
}

/**
 * The file's bytes from the first, in new arrays: each is read into memory not zeroed,
 * and handed on only if the read filled it (a shorter read is copied out, so no byte the
 * file did not give is ever seen). The file is opened at the first read
 * (a stream made and never read holds nothing) and closed at its end, on an error, or
 * when the stream is cancelled (a read under way then fails to enqueue, and closes it).
 */
function reading(fs: NodeFs, buffer: NodeBuffer, path: string): ByteStream {
  let file: FileHandle | undefined;
  let at = 0;
  const close = async () => {
    const open = file;
    file = undefined;
    await open?.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        file ??= await fs.promises.open(path, "r");
        // A Uint8Array of its own (a Buffer's slice() would not copy).
        const bytes = new Uint8Array(buffer.Buffer.allocUnsafeSlow(READ).buffer, 0, READ);
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
  });
}

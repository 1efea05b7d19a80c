//! The streams of [`super::stream`] as `std::io` adapters: a [`SealWriter`] seals what is
//! written to it; an [`OpenReader`] reads the plaintext of a message, verified first
//! (a source read twice, or read into memory up to a limit) or, when asked by name,
//! unverified. A [`Problem`] travels inside the `io::Error` ([`problem_of`] takes it out).
//!
//! ```
//! use kms_instance::envelope::{self, stream, stream_io, DecryptOptions, EncryptOptions};
//! use kms_instance::key_providers::software::SoftwareKeyProvider;
//! use std::io::{Cursor, Read, Write};
//!
//! let mut keys = SoftwareKeyProvider::new();
//! keys.add("acs:kms:cn-hangzhou:1207089758810000:key/key-docs".parse()?, [7; 32])?;
//! let arns = envelope::listed_keys(&[&keys]);
//! let data = vec![7u8; 3 << 20];
//! let sealing = pollster::block_on(stream::begin_seal_stream(&[&keys], &arns, data.len() as u64, &EncryptOptions::default()))?;
//! let mut writer = stream_io::SealWriter::new(sealing, Vec::new())?;
//! writer.write_all(&data)?;
//! let message = writer.finish()?;
//!
//! let mut source = Cursor::new(message);
//! let head = stream_io::read_head(&mut source)?;
//! let opening = pollster::block_on(stream::begin_open_stream(&[&keys], head, &DecryptOptions::default()))?;
//! let mut plaintext = Vec::new();
//! stream_io::OpenReader::verified(opening, source)?.read_to_end(&mut plaintext)?;
//! assert_eq!(plaintext, data);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::message::{StreamHead, HEAD_WINDOW, TAG_TLV_LEN};
use super::stream::{BodyPass, Finished, OpenStream, SealStream};
use crate::code::{Code, Problem};
use std::io::{self, Read, Seek, SeekFrom, Write};

/// How much is read or written at a time.
pub const PIECE_BYTES: usize = 256 << 10;

fn io_error(p: Problem) -> io::Error {
    io::Error::other(p)
}

/// The [`Problem`] an adapter's `io::Error` carries (`None`: an I/O failure of the
/// source or sink itself).
pub fn problem_of(e: &io::Error) -> Option<&Problem> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<Problem>())
}

/// Seals what is written to it into `inner`: the head at once, then each write
/// encrypted; [`SealWriter::finish`] writes the tag once exactly the length given came.
pub struct SealWriter<W: Write> {
    stream: SealStream,
    inner: W,
    piece: Vec<u8>,
}

impl<W: Write> SealWriter<W> {
    /// Writes the message's head to `inner`.
    pub fn new(stream: SealStream, mut inner: W) -> io::Result<SealWriter<W>> {
        inner.write_all(stream.head())?;
        Ok(SealWriter { stream, inner, piece: Vec::new() })
    }

    /// Writes the tag; refused (and no tag written) when the plaintext was not the
    /// length given. Gives `inner` back.
    pub fn finish(mut self) -> io::Result<W> {
        let tail = self.stream.finish().map_err(io_error)?;
        self.inner.write_all(&tail)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for SealWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let taken = data.get(..PIECE_BYTES.min(data.len())).unwrap_or_default();
        self.piece.clear();
        self.piece.extend_from_slice(taken);
        self.stream.update(&mut self.piece).map_err(io_error)?;
        self.inner.write_all(&self.piece)?;
        Ok(taken.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads a message's head from `source`, leaving it at the body's first byte: one byte
/// at a time while the head is short, so nothing past it is taken (wrap an unbuffered
/// source in a `BufReader`). Bytes that are not a message's head are an error carrying
/// the [`Problem`] ([`problem_of`]); a failing source, its own error.
pub fn read_head<R: Read>(source: &mut R) -> io::Result<StreamHead> {
    let refused = |why: &str| io_error(Problem::new(Code::NotAMessage, why).rule("R-ENV-4"));
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if let Some(head) = StreamHead::read(&bytes).map_err(io_error)? {
            return Ok(head);
        }
        if bytes.len() >= HEAD_WINDOW {
            return Err(refused("no message's head in its first bytes"));
        }
        match source.read(&mut byte) {
            Ok(0) => return Err(refused("the message ends in its head")),
            Ok(_) => bytes.extend_from_slice(&byte),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads a message's plaintext from a source positioned at its body.
pub struct OpenReader<R: Read> {
    source: R,
    pass: Option<BodyPass>,
    /// The first problem: every later read gives it again, never a clean end.
    failed: Option<Problem>,
    /// Plaintext released and not read yet, from `at`.
    out: Vec<u8>,
    at: usize,
    piece: Vec<u8>,
}

impl<R: Read + Seek> OpenReader<R> {
    /// Verified first: reads the body once to check its tag (no plaintext made), then
    /// again from where it starts, releasing only what hashes as it did the first time.
    pub fn verified(opening: OpenStream, mut source: R) -> io::Result<OpenReader<R>> {
        let start = source.stream_position()?;
        let mut first = opening.verifier().map_err(io_error)?;
        let mut piece = vec![0u8; PIECE_BYTES];
        let mut none = Vec::new();
        loop {
            match source.read(&mut piece) {
                Ok(0) => break,
                Ok(n) => first.update(piece.get(..n).unwrap_or_default(), &mut none).map_err(io_error)?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let Finished::Verified(verified) = first.finish().map_err(io_error)? else {
            return Err(io_error(Problem::new(Code::Request, "a verifier ended as a decryptor")));
        };
        source.seek(SeekFrom::Start(start))?;
        let second = opening.decryptor(verified).map_err(io_error)?;
        Ok(OpenReader { source, pass: Some(second), failed: None, out: Vec::new(), at: 0, piece })
    }
}

impl<R: Read> OpenReader<R> {
    /// Verified first, for a source read once (a pipe): the body is read into memory,
    /// at most `limit` bytes of it (past it: `Rejected.UnverifiedStreamRequired`), checked,
    /// then released.
    pub fn buffered(opening: OpenStream, mut source: R, limit: u64) -> io::Result<OpenReader<io::Cursor<Vec<u8>>>> {
        let body = opening.length().saturating_add(TAG_TLV_LEN as u64);
        super::stream::held_within(opening.length(), limit).map_err(io_error)?;
        let mut all = Vec::with_capacity(usize::try_from(body).unwrap_or(0));
        source.by_ref().take(body.saturating_add(1)).read_to_end(&mut all)?;
        OpenReader::verified(opening, io::Cursor::new(all))
    }

    /// Plaintext as it decrypts, before the tag is checked: a read fails at the end if
    /// it does not check, and what was read must then be thrown away.
    pub fn unverified(opening: OpenStream, source: R) -> io::Result<OpenReader<R>> {
        let pass = opening.unverified().map_err(io_error)?;
        Ok(OpenReader { source, pass: Some(pass), failed: None, out: Vec::new(), at: 0, piece: vec![0u8; PIECE_BYTES] })
    }
}

impl<R: Read> OpenReader<R> {
    /// The next plaintext into `self.out` (none at the end).
    fn fill(&mut self) -> io::Result<()> {
        let Some(pass) = self.pass.as_mut() else { return Ok(()) };
        self.out.clear();
        self.at = 0;
        let done = match self.source.read(&mut self.piece) {
            Ok(0) => match self.pass.take().map(BodyPass::finish) {
                Some(Ok(Finished::Opened(last))) => {
                    self.out = last;
                    Ok(())
                }
                Some(Ok(Finished::Verified(_))) | None => Ok(()),
                Some(Err(p)) => Err(p),
            },
            Ok(n) => pass.update(self.piece.get(..n).unwrap_or_default(), &mut self.out),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => return Err(e),
        };
        done.map_err(|p| {
            self.pass = None;
            self.out.clear();
            self.failed = Some(p.clone());
            io_error(p)
        })
    }
}

impl<R: Read> Read for OpenReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at >= self.out.len() {
            if let Some(p) = &self.failed {
                return Err(io_error(p.clone()));
            }
            if self.pass.is_none() {
                return Ok(0);
            }
            self.fill()?;
        }
        let ready = self.out.get(self.at..).unwrap_or_default();
        let n = ready.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), ready.get(..n)) {
            to.copy_from_slice(from);
        }
        self.at = self.at.saturating_add(n);
        Ok(n)
    }
}

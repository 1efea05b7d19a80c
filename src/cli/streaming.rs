//! `encrypt` and `decrypt` in constant memory: the input read in pieces (a file, or
//! standard input when it is a file or a pipe), the output written as it comes (to a new
//! file beside the one named, moved into place once whole, or to standard output), and
//! a progress line on a terminal's standard error for a large input.

use super::io::Fatal;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Seek, Write};
use std::time::{Duration, Instant};

/// An input from its first byte: a file (its length known, read again if need be), or a
/// pipe (read once).
pub enum Input {
    /// A regular file, or standard input redirected from one.
    File { file: File, len: u64, name: String },
    /// Standard input from a pipe or a terminal, or a named pipe or device.
    Pipe(Box<dyn Read>, String),
}

impl Input {
    /// Opens `file` (`-`: standard input).
    pub fn open(file: &str) -> Result<Input, Fatal> {
        if file != "-" {
            let opened = File::open(file).map_err(|e| Fatal(format!("{file}: {e}")))?;
            let meta = opened.metadata().map_err(|e| Fatal(format!("{file}: {e}")))?;
            // A FIFO, `<(command)`, /dev/stdin: read once, as a pipe is.
            if !meta.is_file() {
                return Ok(Input::Pipe(Box::new(opened), file.to_string()));
            }
            return Ok(Input::File { file: opened, len: meta.len(), name: file.to_string() });
        }
        let stdin = io::stdin();
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            // Redirected from a file: read it as the file it is (its length, a second pass).
            if let Ok(fd) = stdin.as_fd().try_clone_to_owned() {
                let file = File::from(fd);
                if let Some(meta) = file.metadata().ok().filter(|m| m.is_file()) {
                    let start = (&file).stream_position().unwrap_or(0);
                    let len = meta.len().saturating_sub(start);
                    return Ok(Input::File { file, len, name: "standard input".into() });
                }
            }
        }
        if stdin.is_terminal() {
            let _ = writeln!(io::stderr(), "kms-instance: reading standard input; end it with Ctrl-D (or name a file)");
        }
        Ok(Input::Pipe(Box::new(stdin), "standard input".into()))
    }

    /// Its name, for a message.
    pub fn name(&self) -> &str {
        match self {
            Input::File { name, .. } | Input::Pipe(_, name) => name,
        }
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::File { file, .. } => file.read(buf),
            Input::Pipe(pipe, _) => pipe.read(buf),
        }
    }
}

/// Where the output goes: a new file beside the one named (moved into place once
/// whole, removed if the command fails), or standard output.
pub struct Output {
    sink: Box<dyn Write>,
    /// The file's temporary name and its final one.
    file: Option<(String, String)>,
}

impl Output {
    /// Opens `file` (`-`: standard output); a new file gets `mode`. A message is bytes no
    /// terminal shows: it is refused there unless `force`.
    pub fn create(file: &str, message: bool, force: bool) -> Result<Output, Fatal> {
        if file == "-" {
            if message && !force && io::stdout().is_terminal() {
                return Err(Fatal(
                    "refusing to write a binary message to a terminal: redirect it, give -o FILE, or pass --force"
                        .into(),
                ));
            }
            return Ok(Output { sink: Box::new(io::BufWriter::with_capacity(1 << 20, io::stdout())), file: None });
        }
        // A plaintext is readable by its owner only, as its key is; a message by anyone;
        // a replaced file keeps its own mode.
        super::io::remove_unfinished_when_interrupted();
        let (temp, opened) = super::io::open_beside(file, if message { 0o644 } else { 0o600 })?;
        Ok(Output { sink: Box::new(io::BufWriter::with_capacity(1 << 20, opened)), file: Some((temp, file.into())) })
    }

    /// Whole: flushed, synced and moved into place.
    pub fn finish(mut self) -> Result<(), Fatal> {
        let name = self.file.as_ref().map_or("standard output".to_string(), |(_, f)| f.clone());
        self.sink.flush().map_err(|e| Fatal(format!("{name}: {e}")))?;
        if let Some((temp, file)) = self.file.take() {
            let synced = File::open(&temp).and_then(|f| f.sync_all()).and_then(|()| std::fs::rename(&temp, &file));
            if synced.is_err() {
                let _ = std::fs::remove_file(&temp);
            }
            super::io::finished_with(&temp);
            synced.map_err(|e| Fatal(format!("{file}: {e}")))?;
        }
        Ok(())
    }
}

impl Write for Output {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.sink.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // Not finished: the command failed, and leaves no partial file.
        if let Some((temp, _)) = self.file.take() {
            let _ = std::fs::remove_file(&temp);
            super::io::finished_with(&temp);
        }
    }
}

/// Which side of a copy failed.
pub enum Failed {
    /// Reading (the input, or a message that did not open).
    Read(io::Error),
    /// Writing (the output, or a plaintext of the wrong length).
    Write(io::Error),
}

/// Copies `from` to `to` in pieces, with a progress line for `total` bytes when standard
/// error is a terminal and the input is large.
pub fn copy(from: &mut dyn Read, to: &mut dyn Write, total: u64) -> Result<u64, Failed> {
    let mut progress = Progress::new(total);
    let mut piece = vec![0u8; kms_instance::envelope::stream_io::PIECE_BYTES];
    let mut done = 0u64;
    loop {
        let n = match from.read(&mut piece) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                progress.end();
                return Err(Failed::Read(e));
            }
        };
        if let Err(e) = to.write_all(piece.get(..n).unwrap_or_default()) {
            progress.end();
            return Err(Failed::Write(e));
        }
        done = done.saturating_add(n as u64);
        progress.show(done);
    }
    progress.end();
    Ok(done)
}

/// A line on standard error, redrawn at most four times a second.
struct Progress {
    total: u64,
    shown: Option<Instant>,
}

impl Progress {
    /// Below it, no line: the command ends before one would help.
    const FROM_BYTES: u64 = 64 << 20;

    fn new(total: u64) -> Progress {
        let on = total >= Self::FROM_BYTES && io::stderr().is_terminal();
        Progress {
            total,
            shown: on.then(|| Instant::now().checked_sub(Duration::from_secs(1)).unwrap_or_else(Instant::now)),
        }
    }

    fn show(&mut self, done: u64) {
        let Some(last) = self.shown else { return };
        if last.elapsed() < Duration::from_millis(250) {
            return;
        }
        let mib = |n: u64| n >> 20;
        let percent = done.saturating_mul(100).checked_div(self.total).unwrap_or(100);
        let _ = write!(io::stderr(), "\rkms-instance: {} of {} MiB ({percent}%)", mib(done), mib(self.total));
        self.shown = Some(Instant::now());
    }

    fn end(&mut self) {
        if self.shown.take().is_some() {
            let _ = write!(io::stderr(), "\r\x1b[K");
        }
    }
}

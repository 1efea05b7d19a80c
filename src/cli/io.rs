//! What every command reads and writes: files and standard input within a limit,
//! standard output (a broken pipe is an error, not a panic), and the failure of a
//! command itself (exit status 2, one line).

use kms_instance::{Code, Problem};
use std::io::{Read, Write};

/// A failure of the command itself: reported in one line, exit status 2.
pub struct Fatal(pub String);

impl From<Problem> for Fatal {
    fn from(p: Problem) -> Self {
        Fatal(p.to_string())
    }
}

/// A file (`-`: standard input), at most `limit` bytes: one byte more is read, so the
/// caller can tell an input at the limit from one past it.
pub fn read_bytes(file: &str, limit: usize) -> Result<Vec<u8>, Fatal> {
    let name = if file == "-" { "standard input" } else { file };
    let take = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut bytes = Vec::new();
    let read = if file == "-" {
        std::io::stdin().take(take).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(take).read_to_end(&mut bytes))
    };
    read.map_err(|e| Fatal(format!("{name}: {e}")))?;
    Ok(bytes)
}

/// Writes `bytes` to `file` whole: into a new file beside it, then moved into place, so
/// a failure (a full disk) leaves the old file as it was and no partial one. A new file
/// gets `mode`; a replaced one keeps its own. `replace: false` never replaces a file
/// (the new one is linked into place).
pub fn write_whole(file: &str, bytes: &[u8], mode: u32, replace: bool) -> Result<(), Fatal> {
    let fail = |e: std::io::Error| Fatal(format!("{file}: {e}"));
    let (temp, mut opened) = open_beside(file, mode)?;
    let written = opened.write_all(bytes).and_then(|()| opened.sync_all()).and_then(|()| {
        if replace {
            std::fs::rename(&temp, file)
        } else {
            std::fs::hard_link(&temp, file)
        }
    });
    let _ = std::fs::remove_file(&temp);
    finished_with(&temp);
    written.map_err(fail)
}

/// The files this process is writing beside the ones they will replace: an interrupted
/// process runs no destructor, so the handler [`remove_unfinished_when_interrupted`]
/// installs removes them.
static UNFINISHED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// On SIGINT, SIGTERM or SIGHUP, removes the files being written (a streamed plaintext
/// half written, say) and exits with 130, as after Ctrl-C. For the commands that write
/// files as they go; the servers handle their signals themselves.
pub fn remove_unfinished_when_interrupted() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Refused only if a handler is already set: then that one decides.
        let _ = ctrlc::set_handler(|| {
            if let Ok(files) = UNFINISHED.lock() {
                files.iter().for_each(|f| drop(std::fs::remove_file(f)));
            }
            std::process::exit(130);
        });
    });
}

/// `temp` is in its place or removed: an interruption has nothing of it to remove.
pub fn finished_with(temp: &str) {
    if let Ok(mut files) = UNFINISHED.lock() {
        files.retain(|f| f != temp);
    }
}

/// A new file beside `file`, to be moved into its place once whole: its name and the
/// file. It gets `mode`, or the mode of the file it will replace.
pub fn open_beside(file: &str, mode: u32) -> Result<(String, std::fs::File), Fatal> {
    let mut suffix = [0u8; 8];
    kms_instance::platform::os_random(&mut suffix)?;
    let temp = format!("{file}.{}.tmp", suffix.iter().map(|b| format!("{b:02x}")).collect::<String>());
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(file).map_or(mode, |m| m.permissions().mode() & 0o7777)
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let opened = options.open(&temp).map_err(|e| Fatal(format!("{file}: {e}")))?;
    if let Ok(mut files) = UNFINISHED.lock() {
        files.push(temp.clone());
    }
    Ok((temp, opened))
}

/// A text file of at most `limit` bytes; text that is not UTF-8 is reported as `code`
/// (the kind of document the file should hold).
pub fn read_text(file: &str, limit: usize, code: Code) -> Result<String, Fatal> {
    let name = if file == "-" { "standard input" } else { file };
    let bytes = read_bytes(file, limit)?;
    if bytes.len() > limit {
        let problem = kms_instance::limits::too_large("the file (bytes)", bytes.len(), limit);
        return Err(Fatal(format!("{name}: {problem}")));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        Fatal(format!("{name}: {}", Problem::new(code, format!("the file is not UTF-8 text (byte {at})"))))
    })
}

pub fn write_stdout(bytes: &[u8]) -> Result<(), Fatal> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush()).map_err(|e| Fatal(format!("standard output: {e}")))
}

pub fn read_pin(var: &str) -> Result<zeroize::Zeroizing<String>, Fatal> {
    std::env::var(var)
        .map(zeroize::Zeroizing::new)
        .map_err(|_| Fatal(format!("--pin-env {var}: the variable is not set")))
}

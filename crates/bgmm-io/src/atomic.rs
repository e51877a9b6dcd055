//! Output files that are never left half-written: write a temporary file next to the
//! target, fsync it, then rename it over the target. Every temporary (file or staging
//! directory) is registered while it lives, so that a signal handler can remove them all
//! ([`remove_temporaries`]), and the temporaries of killed processes are removed by the next
//! write into the same directory.

use anyhow::{anyhow, bail, Result};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Distinguishes temporary files of concurrent writes within one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How many temporary names to try before giving up (they only collide with stale
/// temporary files left by a killed process with the same pid).
const TEMP_ATTEMPTS: usize = 100;

/// Write `bytes` to `path` atomically: write to a temporary file in the same directory
/// (named `.{file_name}.tmp-{pid}-{counter}`), fsync it, then rename over `path`.
/// On any error the temporary file is removed and the error names the path.
///
/// An existing file at `path` keeps its permissions (best effort); the directory is
/// fsynced after the rename (best effort, Unix only).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let (shown, dir, file_name) = target(path)?;
    let (tmp, file) = create_temp(dir, file_name).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            anyhow!(
                "cannot write '{shown}': directory '{}' does not exist",
                clean(dir)
            )
        } else {
            anyhow!("cannot write '{shown}': cannot create a temporary file: {e}")
        }
    })?;
    if let Err(e) = fill(file, path, bytes).and_then(|()| rename_over(tmp.path(), path)) {
        bail!("cannot write '{shown}': {e}");
    }
    drop(tmp);
    sync_dir(dir);
    Ok(())
}

/// Like [`write_atomic`], for output made in pieces: `write` streams into a buffered writer
/// on the temporary file, which is fsynced and renamed over `path` only if `write` succeeds.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let (shown, dir, file_name) = target(path)?;
    let (tmp, file) = create_temp(dir, file_name)
        .map_err(|e| anyhow!("cannot write '{shown}': cannot create a temporary file: {e}"))?;
    let mut w = io::BufWriter::with_capacity(1 << 20, file);
    let done = write(&mut w)
        .and_then(|()| w.into_inner().map_err(|e| anyhow!("{}", e.error())))
        .and_then(|f| f.sync_all().map_err(|e| anyhow!("{e}")))
        .and_then(|()| rename_over(tmp.path(), path).map_err(|e| anyhow!("{e}")));
    if let Err(e) = done {
        bail!("cannot write '{shown}': {e:#}");
    }
    drop(tmp);
    sync_dir(dir);
    Ok(())
}

/// Rename the temporary over `path`, unless `path` became something other than a regular file
/// (a link, a directory, a device or a FIFO) since it was checked: those are never replaced.
fn rename_over(tmp: &Path, path: &Path) -> io::Result<()> {
    if let Ok(meta) = fs::symlink_metadata(path) {
        if !meta.is_file() {
            return Err(io::Error::other(format!(
                "it is {}; bgmm writes only regular files",
                kind_of(&meta)
            )));
        }
    }
    fs::rename(tmp, path)
}

/// The target as shown in errors, its directory (`.` for a bare name) and its file name.
/// A target that exists must be a regular file: never a link (bgmm would replace the link, not
/// what it points to), a directory, a device or a FIFO.
fn target(path: &Path) -> Result<(String, &Path, &std::ffi::OsStr)> {
    let shown = clean(path);
    let Some(file_name) = path.file_name() else {
        bail!("cannot write '{shown}': not a file name");
    };
    if let Ok(meta) = fs::symlink_metadata(path) {
        if meta.is_dir() {
            bail!("cannot write '{shown}': a directory with that name exists");
        }
        if !meta.is_file() {
            bail!(
                "cannot write '{shown}': it is {}; bgmm writes only regular files, choose another name",
                kind_of(&meta)
            );
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    remove_stale(dir);
    Ok((shown, dir, file_name))
}

/// What a directory entry that is not a regular file is, for messages.
pub(crate) fn kind_of(meta: &fs::Metadata) -> &'static str {
    let t = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_file() {
        "a file"
    } else {
        "a special file"
    }
}

/// A temporary file or directory: registered while it lives (so that [`remove_temporaries`]
/// finds it), removed when dropped unless it was renamed away.
pub(crate) struct Temporary {
    path: PathBuf,
}

impl Temporary {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        let mut live = registry();
        remove_path(&self.path);
        if let Some(i) = live.iter().position(|p| *p == self.path) {
            live.swap_remove(i);
        }
    }
}

/// The temporaries of this process that exist now.
fn registry() -> MutexGuard<'static, Vec<PathBuf>> {
    static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Remove a file or a directory tree (best effort: it may be gone already).
fn remove_path(path: &Path) {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = fs::remove_file(path);
        }
        Err(_) => {}
    }
}

/// Remove every temporary file and staging directory of this process, for a signal handler
/// about to end the process: what was not yet put in place is discarded, nothing is left
/// behind. A commit under way finishes first (it holds the registry).
pub fn remove_temporaries() {
    let mut live = registry();
    CLOSED.store(true, Ordering::SeqCst);
    for p in live.drain(..) {
        remove_path(&p);
    }
}

/// Set when the process is ending on a signal: no new temporary is made after that.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Register a temporary just made (under the registry's lock), unless the process is ending.
fn register(live: &mut Vec<PathBuf>, path: PathBuf) -> io::Result<Temporary> {
    if CLOSED.load(Ordering::SeqCst) {
        remove_path(&path);
        return Err(io::Error::other("interrupted"));
    }
    live.push(path.clone());
    Ok(Temporary { path })
}

/// The pid in a temporary's name `.{name}.{tag}-{pid}-{counter}` (`tag`: `tmp` for files,
/// `bgmm-stage` for run directories).
fn temporary_pid(name: &str) -> Option<u32> {
    if !name.starts_with('.') {
        return None;
    }
    let (rest, counter) = name.rsplit_once('-')?;
    let (rest, pid) = rest.rsplit_once('-')?;
    if counter.is_empty() || !counter.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !(rest.ends_with(".tmp") || rest.ends_with(".bgmm-stage")) {
        return None;
    }
    pid.parse().ok()
}

/// Whether a directory entry is one of bgmm's temporaries (readers and writers pass over them).
pub(crate) fn is_temporary(name: &str) -> bool {
    temporary_pid(name).is_some()
}

/// Remove the temporaries in `dir` left by processes that no longer run (killed before they
/// could clean up). Only where the system says which processes run (Linux' /proc).
pub(crate) fn remove_stale(dir: &Path) {
    let proc = Path::new("/proc/self");
    if !proc.exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = temporary_pid(&name.to_string_lossy()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
            remove_path(&e.path());
        }
    }
}

/// A new, empty staging directory for `name` in `dir`, registered as a temporary.
pub(crate) fn temp_dir(dir: &Path, name: &OsStr, tag: &str) -> io::Result<Temporary> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    remove_stale(dir);
    let pid = std::process::id();
    let mut last_error = None;
    for _ in 0..TEMP_ATTEMPTS {
        let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut n = OsString::from(".");
        n.push(name);
        n.push(format!(".bgmm-{tag}-{pid}-{counter}"));
        let path = dir.join(n);
        let mut live = registry();
        match fs::create_dir(&path) {
            Ok(()) => return register(&mut live, path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no temporary name available")))
}

/// Put the staging directory at `target` in one step: a rename when there is nothing there,
/// else an exchange of the two (Linux), after which the staging name holds the old directory
/// and is removed with it. Where the system cannot exchange, the old directory is moved aside
/// first (a reader between the two renames finds no directory and says so).
pub(crate) fn swap_into_place(stage: &Temporary, target: &Path, exists: bool) -> io::Result<()> {
    // a signal handler waits until the directories are where they belong
    let _live = registry();
    if !exists {
        return fs::rename(&stage.path, target);
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, &stage.path, CWD, target, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(()),
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(e.into()),
        }
    }
    // a name of the staging directory's pattern, so that a kill here leaves only a temporary
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    let stage_name = stage.path.to_string_lossy().into_owned();
    let stem = stage_name.rsplit_once('-').map_or(&stage_name[..], |x| x.0);
    let aside = PathBuf::from(format!("{stem}-{counter}"));
    fs::rename(target, &aside)?;
    if let Err(e) = fs::rename(&stage.path, target) {
        let _ = fs::rename(&aside, target);
        return Err(e);
    }
    // the staging name now names the old directory, removed with it
    fs::rename(&aside, &stage.path)
}

/// Create the directory (and parents) for --out, with an error naming it.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    let shown = clean(dir);
    if let Ok(meta) = fs::symlink_metadata(dir) {
        if meta.file_type().is_symlink() {
            bail!("cannot write into '{shown}': it is a symbolic link; bgmm writes only into a directory itself");
        }
    }
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if dir.exists() {
        bail!("cannot create output directory '{shown}': a file with that name exists");
    }
    fs::create_dir_all(dir).map_err(|e| anyhow!("cannot create output directory '{shown}': {e}"))
}

/// Write `bytes` to `dir/name` atomically.
pub fn write_out(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    write_atomic(&dir.join(name), bytes)
}

/// Create a new, empty temporary file for `file_name` in `dir`.
fn create_temp(dir: &Path, file_name: &std::ffi::OsStr) -> io::Result<(Temporary, File)> {
    let pid = std::process::id();
    let mut last_error = None;
    for _ in 0..TEMP_ATTEMPTS {
        let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = OsString::from(".");
        name.push(file_name);
        name.push(format!(".tmp-{pid}-{counter}"));
        let tmp = dir.join(name);
        let mut live = registry();
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return register(&mut live, tmp).map(|t| (t, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no temporary file name available")))
}

/// Write and fsync the temporary file, copying the permissions of an existing target.
fn fill(mut file: File, target: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Ok(meta) = fs::metadata(target) {
        if meta.is_file() {
            // Best effort: a failure only means the default permissions are kept.
            let _ = file.set_permissions(meta.permissions());
        }
    }
    file.write_all(bytes)?;
    file.sync_all()
}

/// Make the rename durable (best effort).
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The path with control characters and line breaks escaped, so messages stay on one line.
pub(crate) fn clean(path: &Path) -> String {
    let mut out = String::new();
    for c in path.display().to_string().chars() {
        if c.is_control() || (c.is_whitespace() && c != ' ') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_new_file_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write_atomic(&path, b"{\"a\": 1}\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{\"a\": 1}\n");
        assert_eq!(entries(dir.path()), ["out.json"]);
    }

    #[test]
    fn replaces_existing_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        fs::write(&path, "old content that is longer than the new one\n").unwrap();
        write_atomic(&path, b"new\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        write_atomic(&path, b"").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"");
        assert_eq!(entries(dir.path()), ["out.csv"]);
    }

    #[cfg(unix)]
    #[test]
    fn keeps_permissions_of_existing_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"new").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    #[test]
    fn missing_directory_fails_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no").join("such");
        let path = missing.join("out.json");
        let msg = write_atomic(&path, b"data").unwrap_err().to_string();
        assert_eq!(
            msg,
            format!(
                "cannot write '{}': directory '{}' does not exist",
                path.display(),
                missing.display()
            )
        );
        assert!(!msg.contains('\n'));
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn failed_rename_removes_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken");
        fs::create_dir(&path).unwrap();
        let msg = write_atomic(&path, b"data").unwrap_err().to_string();
        assert!(
            msg.starts_with(&format!("cannot write '{}': ", path.display())),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
        assert_eq!(entries(dir.path()), ["taken"]);
        assert!(path.is_dir());
    }

    #[test]
    fn paths_without_file_name_are_rejected() {
        let msg = write_atomic(Path::new(""), b"x").unwrap_err().to_string();
        assert_eq!(msg, "cannot write '': not a file name");
        let msg = write_atomic(Path::new("/"), b"x").unwrap_err().to_string();
        assert_eq!(msg, "cannot write '/': not a file name");
    }

    #[test]
    fn concurrent_writes_do_not_clash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        std::thread::scope(|s| {
            for i in 0..4 {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..25 {
                        write_atomic(path, format!("writer {i}\n").as_bytes()).unwrap();
                    }
                });
            }
        });
        let content = fs::read_to_string(&path).unwrap();
        assert!(content.starts_with("writer ") && content.ends_with('\n'));
        assert_eq!(entries(dir.path()), ["out.txt"]);
    }

    #[test]
    fn ensure_dir_creates_parents() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a").join("b").join("c");
        ensure_dir(&out).unwrap();
        assert!(out.is_dir());
        ensure_dir(&out).unwrap();
        ensure_dir(Path::new("")).unwrap();
        write_atomic(&out.join("f.json"), b"1").unwrap();
        assert_eq!(entries(&out), ["f.json"]);
    }

    #[test]
    fn ensure_dir_errors_name_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "x").unwrap();
        let msg = ensure_dir(&file).unwrap_err().to_string();
        assert_eq!(
            msg,
            format!(
                "cannot create output directory '{}': a file with that name exists",
                file.display()
            )
        );
        let below = file.join("sub");
        let msg = ensure_dir(&below).unwrap_err().to_string();
        assert!(
            msg.starts_with(&format!(
                "cannot create output directory '{}': ",
                below.display()
            )),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
    }
}

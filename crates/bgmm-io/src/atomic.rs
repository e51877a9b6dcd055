//! Output files that are never left half-written: write a temporary file next to the
//! target, fsync it, then rename it over the target.

use anyhow::{anyhow, bail, Result};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

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
    if let Err(e) = fill(file, path, bytes).and_then(|()| fs::rename(&tmp, path)) {
        // Best effort: the write already failed, report that error.
        let _ = fs::remove_file(&tmp);
        bail!("cannot write '{shown}': {e}");
    }
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
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| anyhow!("{e}")));
    if let Err(e) = done {
        let _ = fs::remove_file(&tmp);
        bail!("cannot write '{shown}': {e:#}");
    }
    sync_dir(dir);
    Ok(())
}

/// The target as shown in errors, its directory (`.` for a bare name) and its file name.
fn target(path: &Path) -> Result<(String, &Path, &std::ffi::OsStr)> {
    let shown = clean(path);
    let Some(file_name) = path.file_name() else {
        bail!("cannot write '{shown}': not a file name");
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Ok((shown, dir, file_name))
}

/// Create the directory (and parents) for --out, with an error naming it.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let shown = clean(dir);
    if dir.exists() {
        bail!("cannot create output directory '{shown}': a file with that name exists");
    }
    fs::create_dir_all(dir).map_err(|e| anyhow!("cannot create output directory '{shown}': {e}"))
}

/// Write `bytes` to `dir/name` atomically.
pub fn write_out(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    write_atomic(&dir.join(name), bytes)
}

/// Before a command writes several files into `dir`: none of them may be taken by a
/// directory, so that a failure cannot leave the first files written and the rest not.
pub fn check_out<S: AsRef<str>>(dir: &Path, names: &[S]) -> Result<()> {
    for name in names {
        let p = dir.join(name.as_ref());
        if p.is_dir() {
            bail!(
                "cannot write '{}': a directory with that name exists",
                p.display()
            );
        }
    }
    Ok(())
}

/// Create a new, empty temporary file for `file_name` in `dir`.
fn create_temp(dir: &Path, file_name: &std::ffi::OsStr) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut last_error = None;
    for _ in 0..TEMP_ATTEMPTS {
        let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = OsString::from(".");
        name.push(file_name);
        name.push(format!(".tmp-{pid}-{counter}"));
        let tmp = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
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
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The path with control characters and line breaks escaped, so messages stay on one line.
fn clean(path: &Path) -> String {
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

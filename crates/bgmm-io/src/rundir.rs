//! Run directories written whole or not at all.
//!
//! One command's output in a directory is a *run* (a fit, a classification, a sampling run, a
//! simulation, a predictive). A [`RunWriter`] builds the new run in a staging directory next to
//! the target (`.NAME.bgmm-stage-PID-N`), links in the files of the directory that the new run
//! does not replace (another run sharing the directory, the user's own files), writes
//! `manifest.json` last (every file bgmm wrote, with its run, size and FNV-1a hash), and swaps
//! the staging directory into place with one rename (Linux: `renameat2(RENAME_EXCHANGE)`), under
//! a lock on the parent directory so that concurrent writers to one `--out` take turns. A reader
//! therefore sees the old directory or the new one, never a mix; [`verify_run`] refuses a
//! directory whose files do not match its manifest (copied in by hand, or mixed by an older bgmm).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};

use crate::atomic::{self, clean, Temporary};

static WRITTEN: AtomicUsize = AtomicUsize::new(0);

/// How many runs this process has put in place (for what an interrupted process says).
pub fn runs_written() -> usize {
    WRITTEN.load(Ordering::Relaxed)
}

/// The manifest's file name in a run directory.
pub const MANIFEST: &str = "manifest.json";

/// The file of the pointwise log likelihood in a sampling run directory.
pub const LOG_LIK_FILE: &str = "log-lik.npy";

/// What wrote a run: each kind owns a fixed set of file names in its directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// `fit --out`: `fit.json`.
    Fit,
    /// `classify --out`: `classify.json`, `assignments.csv`.
    Classify,
    /// `sample --out` and `vi --out`: `summary.json`, `chain-C.csv`, `raw-chain-C.csv`.
    Sample,
    /// `simulate --out`: `data.csv` or `data.npy`, `assignments.csv`, `truth.json`.
    Simulate,
    /// `predict --out`: `predictive.csv`, `predictive.json`.
    Predict,
    /// `select --out`: `select.json`, `best-fit.json` (the best model's fit, as `fit.json`).
    Select,
}

const KINDS: [RunKind; 6] = [
    RunKind::Fit,
    RunKind::Classify,
    RunKind::Sample,
    RunKind::Simulate,
    RunKind::Predict,
    RunKind::Select,
];

impl RunKind {
    /// The name a user knows the run by.
    pub fn name(self) -> &'static str {
        match self {
            RunKind::Fit => "fit",
            RunKind::Classify => "classification",
            RunKind::Sample => "sampling run",
            RunKind::Simulate => "simulation",
            RunKind::Predict => "predictive",
            RunKind::Select => "model selection",
        }
    }

    /// The record that says a directory holds this kind of run.
    pub fn head(self) -> &'static str {
        match self {
            RunKind::Fit => "fit.json",
            RunKind::Classify => "classify.json",
            RunKind::Sample => "summary.json",
            RunKind::Simulate => "truth.json",
            RunKind::Predict => "predictive.json",
            RunKind::Select => "select.json",
        }
    }

    /// Whether a file of this name belongs to this kind of run.
    pub fn owns(self, file: &str) -> bool {
        match self {
            RunKind::Fit => file == "fit.json",
            RunKind::Classify => matches!(file, "classify.json" | "assignments.csv"),
            RunKind::Sample => {
                matches!(file, "summary.json" | LOG_LIK_FILE)
                    || chain_index(file, "chain-").is_some()
                    || chain_index(file, "raw-chain-").is_some()
            }
            RunKind::Simulate => matches!(
                file,
                "data.csv" | "data.npy" | "assignments.csv" | "truth.json"
            ),
            RunKind::Predict => matches!(file, "predictive.csv" | "predictive.json"),
            RunKind::Select => matches!(file, "select.json" | "best-fit.json"),
        }
    }
}

/// `C` of a file named `{prefix}C.csv`.
pub(crate) fn chain_index(file: &str, prefix: &str) -> Option<usize> {
    let c = file.strip_prefix(prefix)?.strip_suffix(".csv")?;
    if c.is_empty() || !c.bytes().all(|b| b.is_ascii_digit()) || (c.len() > 1 && c.starts_with('0'))
    {
        return None;
    }
    c.parse().ok()
}

/// One file bgmm wrote into a run directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub run: RunKind,
    pub bytes: u64,
    /// FNV-1a (64 bit) of the content, in hex.
    pub fnv1a64: String,
}

/// `manifest.json`: every file bgmm wrote into the directory, by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub bgmm_version: String,
    pub files: BTreeMap<String, ManifestEntry>,
}

/// FNV-1a, 64 bit, fed in pieces.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

/// A writer that counts and hashes what goes through it.
struct Hashing<W> {
    inner: W,
    hash: Fnv,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Size and hash of a file's content.
fn entry_of(path: &Path, run: RunKind) -> io::Result<ManifestEntry> {
    let mut f = File::open(path)?;
    let mut hash = Fnv::new();
    let mut bytes = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(ManifestEntry {
        run,
        bytes,
        fnv1a64: hash.hex(),
    })
}

/// The manifest of `dir`, if it has one.
pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST);
    let text = match crate::input::read_record(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => bail!("cannot read '{}': {e}", clean(&path)),
    };
    let m: Manifest = serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "'{}' is not a bgmm manifest (line {}: {e})",
            clean(&path),
            e.line()
        )
    })?;
    Ok(Some(m))
}

/// Check that the files of the `kind` run in `dir` belong together: with a manifest, every
/// file of the run it lists exists with its size and hash, and every file of the run in the
/// directory is listed. Returns the listed files of the run (None: no manifest, a directory
/// written by a bgmm before 0.2 or by hand; the reader checks what it can).
pub fn verify_run(dir: &Path, kind: RunKind) -> Result<Option<Vec<String>>> {
    let Some(manifest) = read_manifest(dir)? else {
        return Ok(None);
    };
    let shown = clean(dir);
    let refuse = |what: String| {
        anyhow!(
            "run directory '{shown}' does not hold one whole {}: {what}; write it again with --out",
            kind.name()
        )
    };
    let mut listed = Vec::new();
    for (name, entry) in &manifest.files {
        if entry.run != kind {
            continue;
        }
        let path = dir.join(name);
        let actual = match entry_of(&path, kind) {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(refuse(format!("'{name}' is missing")))
            }
            Err(e) => bail!("cannot read '{}': {e}", clean(&path)),
        };
        if actual.bytes != entry.bytes || actual.fnv1a64 != entry.fnv1a64 {
            return Err(refuse(format!(
                "'{name}' is not the file its manifest lists ({} bytes, {} expected)",
                actual.bytes, entry.bytes
            )));
        }
        listed.push(name.clone());
    }
    if listed.is_empty() {
        return Err(refuse(format!("its {MANIFEST} lists no {}", kind.name())));
    }
    for name in file_names(dir)? {
        if kind.owns(&name) && !manifest.files.contains_key(&name) {
            return Err(refuse(format!("'{name}' is not in its {MANIFEST}")));
        }
    }
    Ok(Some(listed))
}

/// The names of the entries of `dir`, not those of bgmm's temporaries.
fn file_names(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| anyhow!("cannot list '{}': {e}", clean(dir)))? {
        let e = e.map_err(|e| anyhow!("cannot list '{}': {e}", clean(dir)))?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// One run being written into `--out DIR`: files go to a staging directory; [`commit`] puts the
/// whole directory in place. Dropped without a commit, the staging directory is removed.
///
/// [`commit`]: RunWriter::commit
pub struct RunWriter {
    target: PathBuf,
    kind: RunKind,
    stage: Temporary,
    files: BTreeMap<String, ManifestEntry>,
}

impl RunWriter {
    /// Start writing a `kind` run into `dir` (created with its parents when missing). Refuses
    /// at once a `dir` that is a symbolic link, a file or a special file, or that holds another
    /// run's files of the same names.
    pub fn create(dir: &Path, kind: RunKind) -> Result<Self> {
        let shown = clean(dir);
        check_target(dir)?;
        let parent = parent_of(dir);
        if !parent.as_os_str().is_empty() && !parent.is_dir() {
            fs::create_dir_all(parent)
                .map_err(|e| anyhow!("cannot create output directory '{}': {e}", clean(parent)))?;
        }
        let name = dir
            .file_name()
            .ok_or_else(|| anyhow!("cannot write run '{shown}': not a directory name"))?;
        let stage = atomic::temp_dir(parent, name, "stage").map_err(|e| {
            anyhow!("cannot write run '{shown}': cannot create a staging directory: {e}")
        })?;
        let writer = RunWriter {
            target: dir.to_path_buf(),
            kind,
            stage,
            files: BTreeMap::new(),
        };
        writer.check_existing()?;
        Ok(writer)
    }

    /// Whether a `kind` run can be written into `dir`, checked before the work that makes it
    /// (and again when it is put in place): the reasons [`RunWriter::create`] refuses.
    pub fn check(dir: &Path, kind: RunKind) -> Result<()> {
        check_target(dir)?;
        check_existing(dir, kind)
    }

    fn check_existing(&self) -> Result<()> {
        check_existing(&self.target, self.kind)
    }
}

/// Refuse a target directory that cannot take a `kind` run whole.
fn check_existing(target: &Path, kind: RunKind) -> Result<()> {
    let Ok(meta) = fs::symlink_metadata(target) else {
        return Ok(());
    };
    if !meta.is_dir() {
        return Ok(()); // check_target said why
    }
    let manifest = read_manifest(target).ok().flatten();
    for name in file_names(target)? {
        let path = target.join(&name);
        let meta = fs::symlink_metadata(&path)
            .map_err(|e| anyhow!("cannot read '{}': {e}", clean(&path)))?;
        if atomic::is_temporary(&name) {
            continue;
        }
        if !meta.is_file() {
            bail!(
                "cannot write {} into '{}': it holds '{name}', {}; --out takes a new directory or one that holds files only",
                kind.name(),
                clean(target),
                atomic::kind_of(&meta)
            );
        }
        if !kind.owns(&name) {
            continue;
        }
        // a name this run takes, held by another kind of run in the directory
        let owner = manifest
            .as_ref()
            .and_then(|m| m.files.get(&name).map(|e| e.run))
            .or_else(|| {
                KINDS
                    .into_iter()
                    .find(|&k| k != kind && k.owns(&name) && target.join(k.head()).is_file())
            });
        if let Some(other) = owner.filter(|&o| o != kind) {
            bail!(
                "cannot write {} into '{}': its '{name}' belongs to the {} there; choose another --out",
                kind.name(),
                clean(target),
                other.name()
            );
        }
    }
    Ok(())
}

impl RunWriter {
    /// Write one file of the run.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        self.write_with(name, |w| Ok(w.write_all(bytes)?))
    }

    /// Write one file of the run in pieces.
    pub fn write_with(
        &mut self,
        name: &str,
        write: impl FnOnce(&mut dyn Write) -> Result<()>,
    ) -> Result<()> {
        debug_assert!(
            self.kind.owns(name),
            "{name} is not a file of a {:?}",
            self.kind
        );
        let path = self.stage.path().join(name);
        let shown = clean(&self.target.join(name));
        let file = File::create(&path).map_err(|e| anyhow!("cannot write '{shown}': {e}"))?;
        let mut w = Hashing {
            inner: io::BufWriter::with_capacity(1 << 20, file),
            hash: Fnv::new(),
            bytes: 0,
        };
        write(&mut w)
            .and_then(|()| {
                let Hashing { inner, .. } = &mut w;
                inner.flush().map_err(|e| anyhow!("{e}"))
            })
            .and_then(|()| w.inner.get_ref().sync_all().map_err(|e| anyhow!("{e}")))
            .map_err(|e| anyhow!("cannot write '{shown}': {e:#}"))?;
        self.files.insert(
            name.to_string(),
            ManifestEntry {
                run: self.kind,
                bytes: w.bytes,
                fnv1a64: w.hash.hex(),
            },
        );
        Ok(())
    }

    /// Put the run in place, whole: what the directory held besides the files this run
    /// replaces is kept (linked into the staging directory), the manifest is written, and the
    /// staging directory takes the target's place in one rename.
    pub fn commit(mut self) -> Result<()> {
        let shown = clean(&self.target);
        let fail = |e: &dyn std::fmt::Display| anyhow!("cannot write run '{shown}': {e}");
        let parent = parent_of(&self.target).to_path_buf();
        // concurrent writers into one parent directory take turns from here
        let lock = File::open(if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &parent
        })
        .map_err(|e| fail(&e))?;
        lock.lock().map_err(|e| fail(&e))?;
        atomic::remove_stale(&parent);
        check_target(&self.target)?;
        self.check_existing()?;
        let old = read_manifest(&self.target).ok().flatten();
        let mut manifest = Manifest {
            bgmm_version: crate::VERSION.to_string(),
            files: std::mem::take(&mut self.files),
        };
        let exists = self.target.is_dir();
        if exists {
            for name in file_names(&self.target)? {
                if atomic::is_temporary(&name) || name == MANIFEST || self.kind.owns(&name) {
                    continue;
                }
                let from = self.target.join(&name);
                let to = self.stage.path().join(&name);
                if fs::hard_link(&from, &to).is_err() {
                    fs::copy(&from, &to).map_err(|e| {
                        anyhow!("cannot write run '{shown}': cannot keep '{name}': {e}")
                    })?;
                }
                if let Some(e) = old.as_ref().and_then(|m| m.files.get(&name)) {
                    manifest.files.insert(name, e.clone());
                }
            }
        }
        let mut text = serde_json::to_string_pretty(&manifest).map_err(|e| fail(&e))?;
        text.push('\n');
        let path = self.stage.path().join(MANIFEST);
        fs::write(&path, &text)
            .and_then(|()| File::open(&path)?.sync_all())
            .and_then(|()| File::open(self.stage.path())?.sync_all())
            .map_err(|e| fail(&e))?;
        atomic::swap_into_place(&self.stage, &self.target, exists).map_err(|e| fail(&e))?;
        atomic::sync_dir(&parent);
        drop(lock);
        WRITTEN.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The directory that holds `path` (empty for a bare name).
fn parent_of(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

/// `--out DIR` may be missing or a directory, never a link, a file or a special file, nor the
/// current directory or one that holds it (replaced whole, it would leave the shell's current
/// directory behind).
fn check_target(dir: &Path) -> Result<()> {
    let holds_cwd = match (dir.canonicalize(), std::env::current_dir()) {
        (Ok(d), Ok(cwd)) => cwd.starts_with(d),
        _ => false,
    };
    if dir.file_name().is_none() || holds_cwd {
        bail!(
            "cannot write a run into '{}': it is the current directory or holds it, and a run directory is replaced whole; name a new directory, e.g. --out run",
            clean(dir)
        );
    }
    match fs::symlink_metadata(dir) {
        Err(_) => Ok(()),
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(meta) if meta.is_file() => bail!(
            "cannot create output directory '{}': a file with that name exists",
            clean(dir)
        ),
        Ok(meta) => bail!(
            "cannot create output directory '{}': it is {}; --out writes only into a directory",
            clean(dir),
            atomic::kind_of(&meta)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_of_known_strings() {
        // the published FNV-1a test vectors
        let h = |s: &str| {
            let mut f = Fnv::new();
            f.update(s.as_bytes());
            f.hex()
        };
        assert_eq!(h(""), "cbf29ce484222325");
        assert_eq!(h("a"), "af63dc4c8601ec8c");
        assert_eq!(h("foobar"), "85944171f73967e8");
        // in pieces as at once
        let mut f = Fnv::new();
        f.update(b"foo");
        f.update(b"bar");
        assert_eq!(f.hex(), h("foobar"));
    }

    #[test]
    fn chain_files_and_temporaries_are_told_by_name() {
        assert_eq!(chain_index("chain-0.csv", "chain-"), Some(0));
        assert_eq!(chain_index("chain-12.csv", "chain-"), Some(12));
        for bad in [
            "chain-.csv",
            "chain-01.csv",
            "chain-1.csv.bak",
            "chain-x.csv",
        ] {
            assert_eq!(chain_index(bad, "chain-"), None, "{bad}");
        }
        assert!(RunKind::Sample.owns("raw-chain-3.csv") && !RunKind::Sample.owns("notes.txt"));
        assert!(RunKind::Sample.owns("log-lik.npy") && !RunKind::Fit.owns("log-lik.npy"));
        assert!(RunKind::Classify.owns("assignments.csv") && RunKind::Simulate.owns("data.npy"));
        assert!(atomic::is_temporary(".run.bgmm-stage-123-0"));
        assert!(atomic::is_temporary(".fit.json.tmp-4-17"));
        for not in [
            "run",
            ".hidden",
            ".x.tmp-a-1",
            ".x.bgmm-stage-1-",
            "x.tmp-1-2",
        ] {
            assert!(!atomic::is_temporary(not), "{not}");
        }
    }

    #[test]
    fn a_run_is_written_whole_and_verified() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("out");
        let mut w = RunWriter::create(&dir, RunKind::Classify).unwrap();
        w.write("assignments.csv", b"z\n0\n").unwrap();
        // nothing is in place before the commit
        assert!(!dir.exists());
        w.write("classify.json", b"{}\n").unwrap();
        w.commit().unwrap();
        assert_eq!(
            verify_run(&dir, RunKind::Classify).unwrap(),
            Some(vec![
                "assignments.csv".to_string(),
                "classify.json".to_string()
            ])
        );
        let m = read_manifest(&dir).unwrap().unwrap();
        assert_eq!(m.files["classify.json"].bytes, 3);
        // a run dropped before its commit leaves nothing
        let mut w = RunWriter::create(&dir, RunKind::Fit).unwrap();
        w.write("fit.json", b"{}").unwrap();
        drop(w);
        assert_eq!(file_names(t.path()).unwrap(), ["out"]);
        assert!(!dir.join("fit.json").exists());
        // a file changed after the fact
        fs::write(dir.join("assignments.csv"), "z\n1\n").unwrap();
        let e = verify_run(&dir, RunKind::Classify).unwrap_err().to_string();
        assert!(
            e.contains(
                "'assignments.csv' is not the file its manifest lists (4 bytes, 4 expected)"
            ),
            "{e}"
        );
        // a run the manifest does not know
        let e = verify_run(&dir, RunKind::Fit).unwrap_err().to_string();
        assert!(e.contains("lists no fit"), "{e}");
    }
}

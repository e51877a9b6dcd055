//! Shared by the targets: a scratch directory per fuzzing process.

use std::path::PathBuf;

/// A fresh directory `$TMPDIR/bgmm-fuzz/<target>-<pid>` for this process's files. libFuzzer
/// ends a process without running destructors and fork mode starts many, so the directories
/// of processes that are gone are removed here instead.
pub fn scratch_dir(target: &str) -> PathBuf {
    let parent = std::env::temp_dir().join("bgmm-fuzz");
    std::fs::create_dir_all(&parent).unwrap();
    let prefix = format!("{target}-");
    for entry in std::fs::read_dir(&parent).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix(&prefix) {
            if !std::path::Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = parent.join(format!("{prefix}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

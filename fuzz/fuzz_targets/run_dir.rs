//! Run directories as `bgmm plot` and `bgmm report` read them: a valid 1-D and a valid 2-D
//! tree (data, a fit with its classification, a sampling run) are made once with the CLI;
//! each input then replaces one of their files (the first byte picks which), the runs are
//! found and loaded, their report page written with every figure drawn as SVG
//! (`bgmm_report::report_html`, which covers `bgmm_io::find_runs` and `bgmm_report::figures`), and the
//! file is put back. Errors are fine (and must be one line); a panic is a bug.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bgmm_cli::cli::{run, Cli};
use bgmm_io::find_runs;
use bgmm_report::report_html;
use clap::Parser;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

/// The files an input can replace, relative to a tree.
const FILES: [&str; 5] = [
    "run/fit.json",
    "run/classify.json",
    "run/sample/summary.json",
    "run/sample/chain-0.csv",
    "data.csv",
];
const TREES: [&str; 2] = ["d1", "d2"];

fn cli(args: &[&str]) {
    let args = std::iter::once("bgmm").chain(args.iter().copied());
    run(Cli::try_parse_from(args).expect("valid arguments")).expect("the setup command runs");
}

/// The base directory (made the working directory: the runs record relative paths) and the
/// original bytes of every file.
fn base() -> &'static Vec<(PathBuf, Vec<u8>)> {
    static BASE: OnceLock<Vec<(PathBuf, Vec<u8>)>> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = common::scratch_dir("run_dir");
        std::env::set_current_dir(&dir).unwrap();
        std::fs::write(
            "model.toml",
            "k = 2\nd = 1\n[weights]\nconcentration = 1.0\n[locs]\nloc = 0.0\nscale = 5.0\n\
             [scale]\nprior = \"lognormal\"\nmu = 0.0\nsigma = 1.0\n",
        )
        .unwrap();
        std::fs::write(
            "model2.toml",
            "k = 2\nd = 2\n[weights]\nconcentration = 1.0\n[locs]\nloc = 0.0\nscale = 5.0\n\
             [scale]\nsharing = \"diagonal\"\nprior = \"lognormal\"\nmu = 0.0\nsigma = 1.0\n",
        )
        .unwrap();
        for (tree, model) in TREES.iter().zip(["model.toml", "model2.toml"]) {
            std::fs::create_dir_all(tree).unwrap();
            let data = format!("{tree}/data.csv");
            let fit = format!("{tree}/run");
            let sample = format!("{tree}/run/sample");
            cli(&["simulate", model, "-n", "30", "--seed", "3", "--out", tree]);
            cli(&["fit", &data, "-k", "2", "--restarts", "5", "--out", &fit]);
            cli(&["classify", &fit, &data, "--out", &fit]);
            cli(&[
                "sample", &data, "-k", "2", "--chains", "2", "--warmup", "30", "--draws", "15",
                "--quiet", "--out", &sample,
            ]);
        }
        let mut files = Vec::new();
        for tree in TREES {
            for f in FILES {
                let p = Path::new(tree).join(f);
                let b = std::fs::read(&p).unwrap();
                files.push((p, b));
            }
        }
        files
    })
}

fn one_line(e: anyhow::Error) {
    let m = format!("{e:#}");
    assert!(!m.contains('\n'), "multi-line error: {m:?}");
}

fuzz_target!(|bytes: &[u8]| {
    let files = base();
    let Some((&pick, content)) = bytes.split_first() else {
        return;
    };
    // Paths to devices or kernel files (e.g. /dev/zero as the data) make the loaders read
    // forever: not what is being tested.
    let text = String::from_utf8_lossy(content);
    if ["/dev", "/proc", "/sys"].iter().any(|p| text.contains(p)) {
        return;
    }
    let i = pick as usize % files.len();
    let (path, original) = &files[i];
    std::fs::write(path, content).unwrap();
    let dir = path.components().next().unwrap().as_os_str().to_owned();
    let dir = Path::new(&dir).join("run");
    // `bgmm report`: every run found and loaded, its sections written and figures drawn (SVG)
    match report_html(&dir) {
        Ok(html) => assert!(html.contains("</html>")),
        Err(e) => one_line(e),
    }
    // `bgmm plot` draws the same figures; the provenance goes into each file
    if let Ok(runs) = find_runs(&dir) {
        for r in &runs {
            let _ = bgmm_report::provenance(r);
        }
    }
    std::fs::write(path, original).unwrap();
});

//! Bad input, command by command and file by file: every case runs the real `bgmm` binary and
//! requires the failure contract of the README:
//!
//! - exit code 2, nothing on stdout;
//! - stderr exactly one line, starting with `error: `, naming the file (and the row, column,
//!   key or option where there is one) and what is wrong (each case lists the words it needs);
//! - no panic;
//! - nothing written: no file appears or changes anywhere under the case's temporary directory
//!   (the `--out` directory each case is given stays empty: no partial `fit.json`, no stray
//!   temporary file).
//!
//! The cases are tables (one test per kind of file, so they run in parallel); a table runs all
//! its cases and then lists every one that broke the contract. `tests/cli.rs` holds the older
//! bad-input tests (mostly `fit` on CSV and model files); the cases here are the rest.
//! Inputs that look odd but are fine (a UTF-8 byte-order mark, CRLF line ends, quoted fields,
//! a model without `d`, a fit written by another bgmm version) are checked to work.
//!
//! `BGMM_SHOW_ERRORS=1 cargo test --release --test bad_input -- --nocapture` prints every
//! case's error line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_bgmm");

/// The Pyro tutorial's model (as examples/models/tutorial.toml), one key per line.
const MODEL: &str = "k = 2
d = 1

[weights]
concentration = 0.5

[locs]
loc = 0.0
scale = 10.0

[scale]
sharing = \"shared\"
prior = \"lognormal\"
mu = 0.0
sigma = 2.0
";

/// [`MODEL`] with the line `from` replaced by `to` (several lines, or none if empty).
fn model_with(from: &str, to: &str) -> String {
    assert!(
        MODEL.lines().any(|l| l == from),
        "MODEL has no line {from:?}"
    );
    MODEL
        .lines()
        .filter_map(|l| match l == from {
            true => (!to.is_empty()).then_some(to),
            false => Some(l),
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// 1-based line of the first line of `text` starting with `start`.
fn line_of(text: &str, start: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?} in\n{text}"))
        + 1
}

// ---------------------------------------------------------------------------------------------
// running the binary

struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(args: &[String], env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("RUST_BACKTRACE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("cannot run the bgmm binary");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn cut(s: &str) -> String {
    if s.len() <= 2000 {
        return s.to_string();
    }
    let mut end = 2000;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Every file under `dir` (recursively) with its length and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, Option<SystemTime>)> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                todo.push(p);
            } else {
                files.insert(p, (meta.len(), meta.modified().ok()));
            }
        }
    }
    files
}

/// How a command takes `--out`.
enum OutKind {
    Dir,
    File,
    None,
}

fn out_kind(args: &[String]) -> OutKind {
    if args.iter().any(|a| a == "--out" || a.starts_with("--out=")) {
        return OutKind::None;
    }
    match args.first().map(String::as_str) {
        Some("simulate" | "fit" | "classify" | "sample" | "vi" | "predict" | "plot") => {
            OutKind::Dir
        }
        Some("report") => OutKind::File,
        _ => OutKind::None,
    }
}

struct Case {
    name: String,
    args: Vec<String>,
    parts: Vec<String>,
    env: Vec<(String, String)>,
}

/// A table of cases sharing one temporary directory of fixtures.
struct Suite {
    tmp: TempDir,
    cases: Vec<Case>,
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

impl Suite {
    fn new() -> Suite {
        Suite {
            tmp: TempDir::new().unwrap(),
            cases: Vec::new(),
        }
    }

    /// A path in the fixture directory (not created).
    fn p(&self, name: &str) -> String {
        self.tmp.path().join(name).to_str().unwrap().to_string()
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        let p = self.p(name);
        if let Some(parent) = Path::new(&p).parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn mkdir(&self, name: &str) -> String {
        let p = self.p(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// Copy directory `from` (a fixture) to `to` (flat: files only).
    fn copy_dir(&self, from: &str, to: &str) -> String {
        let dst = self.mkdir(to);
        for e in std::fs::read_dir(self.p(from)).unwrap() {
            let e = e.unwrap();
            if e.path().is_file() {
                std::fs::copy(e.path(), Path::new(&dst).join(e.file_name())).unwrap();
            }
        }
        dst
    }

    /// Run now and require success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        self.ok_env(args, &[])
    }

    fn ok_env(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let r = run(&strings(args), &env);
        assert_eq!(
            r.code,
            Some(0),
            "expected success: bgmm {args:?}\n--- stderr ---\n{}",
            cut(&r.stderr)
        );
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        r.stdout
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("bgmm {args:?}: not JSON ({e})"))
    }

    /// Add a case: `args` must fail with a line holding every one of `parts`.
    fn fails(&mut self, name: &str, args: &[&str], parts: &[&str]) {
        self.fails_env(name, args, parts, &[]);
    }

    fn fails_env(&mut self, name: &str, args: &[&str], parts: &[&str], env: &[(&str, &str)]) {
        self.cases.push(Case {
            name: name.to_string(),
            args: strings(args),
            parts: strings(parts),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
    }

    /// Run every case; panic listing each one that broke the contract.
    fn check(self) {
        let mut broken = Vec::new();
        let n = self.cases.len();
        for (i, c) in self.cases.iter().enumerate() {
            if let Err(why) = self.check_one(i, c) {
                broken.push(format!(
                    "--- case '{}': bgmm {}\n{why}",
                    c.name,
                    c.args
                        .iter()
                        .map(|a| a.replace(&self.p(""), "$TMP/"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
            }
        }
        assert!(
            broken.is_empty(),
            "{} of {n} bad-input cases broke the contract:\n{}",
            broken.len(),
            broken.join("\n")
        );
        eprintln!("{n} bad-input cases, all one line, exit code 2, nothing written");
    }

    fn check_one(&self, i: usize, c: &Case) -> Result<(), String> {
        let mut args = c.args.clone();
        let out = match out_kind(&args) {
            OutKind::Dir => Some(self.p(&format!("out-{i}"))),
            OutKind::File => Some(self.p(&format!("out-{i}.html"))),
            OutKind::None => None,
        };
        if let Some(o) = &out {
            args.push("--out".into());
            args.push(o.clone());
        }
        let before = snapshot(self.tmp.path());
        let r = run(&args, &c.env);
        let after = snapshot(self.tmp.path());
        let show = || {
            format!(
                "exit code {:?}\nstdout: {}\nstderr: {}",
                r.code,
                cut(&r.stdout),
                cut(&r.stderr)
            )
        };
        // leave the fixtures as they were for the next case, whatever happened
        if let Some(o) = &out {
            let _ = std::fs::remove_dir_all(o);
            let _ = std::fs::remove_file(o);
        }
        for p in after.keys() {
            if !before.contains_key(p) {
                let _ = std::fs::remove_file(p);
            }
        }
        if r.stderr.contains("panicked") || r.stderr.contains("RUST_BACKTRACE") {
            return Err(format!("panicked\n{}", show()));
        }
        if r.code != Some(2) {
            return Err(format!("exit code is not 2\n{}", show()));
        }
        if !r.stdout.is_empty() {
            return Err(format!("stdout is not empty\n{}", show()));
        }
        if !(r.stderr.ends_with('\n') && r.stderr.matches('\n').count() == 1) {
            return Err(format!("stderr is not exactly one line\n{}", show()));
        }
        let line = r.stderr.trim_end();
        if !line.starts_with("error: ") || line.contains('\r') {
            return Err(format!("not an 'error: ' line\n{}", show()));
        }
        if std::env::var_os("BGMM_SHOW_ERRORS").is_some() {
            eprintln!("{:<60} {}", c.name, line.replace(&self.p(""), "$TMP/"));
        }
        let missing: Vec<&String> = c.parts.iter().filter(|p| !line.contains(*p)).collect();
        if !missing.is_empty() {
            return Err(format!("the line does not name {missing:?}\n{line}"));
        }
        let added: Vec<String> = after
            .keys()
            .filter(|p| !before.contains_key(*p))
            .map(|p| p.display().to_string())
            .collect();
        let changed: Vec<String> = before
            .iter()
            .filter(|(p, m)| after.get(*p).is_some_and(|a| a != *m))
            .map(|(p, _)| p.display().to_string())
            .collect();
        let removed: Vec<String> = before
            .keys()
            .filter(|p| !after.contains_key(*p))
            .map(|p| p.display().to_string())
            .collect();
        if !added.is_empty() || !changed.is_empty() || !removed.is_empty() {
            return Err(format!(
                "files written: added {added:?}, changed {changed:?}, removed {removed:?}\n{line}"
            ));
        }
        Ok(())
    }
}

/// The quick sampler settings every case uses (the cases fail before sampling anyway).
const QUICK_SAMPLE: &[&str] = &[
    "--chains", "1", "--warmup", "20", "--draws", "20", "--quiet",
];
const QUICK_VI: &[&str] = &["--steps", "20", "--draws", "20"];

fn cat<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<&'a str> {
    a.iter().chain(b).copied().collect()
}

// ---------------------------------------------------------------------------------------------
// model files (TOML): simulate, describe, fit, sample, vi

#[test]
fn model_files() {
    let mut s = Suite::new();
    // every command that reads a model, with the model file last but one
    let commands = |m: &str| -> Vec<Vec<String>> {
        vec![
            strings(&["simulate", m, "-n", "5"]),
            strings(&["describe", m]),
            strings(&["fit", "builtin:tutorial", m]),
            strings(&cat(&["sample", "builtin:tutorial", m], QUICK_SAMPLE)),
            strings(&cat(&["vi", "builtin:tutorial", m], QUICK_VI)),
        ]
    };
    let every = |s: &mut Suite, name: &str, file: &str, parts: &[&str], only_new: bool| {
        for args in commands(file) {
            // tests/cli.rs already runs simulate, describe and fit on some of these
            if only_new && !matches!(args[0].as_str(), "sample" | "vi") {
                continue;
            }
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut p = parts.to_vec();
            p.push(Path::new(file).file_name().unwrap().to_str().unwrap());
            s.fails(&format!("{name} ({})", args[0]), &a, &p);
        }
    };

    // the file itself
    let f = s.p("nope.toml");
    every(
        &mut s,
        "missing file",
        &f,
        &["model file", "No such file"],
        true,
    );
    let f = s.mkdir("model.toml");
    every(
        &mut s,
        "a directory",
        &f,
        &["model file", "directory"],
        false,
    );
    let f = s.write("empty.toml", "");
    every(&mut s, "empty file", &f, &["empty"], false);
    let f = s.write("comments.toml", "# only a comment\n\n");
    every(&mut s, "only comments", &f, &["missing field `k`"], false);
    let f = s.write("latin1.toml", b"k = 2 # \xe9\n".as_slice());
    every(&mut s, "not UTF-8", &f, &["model file", "UTF-8"], false);
    let f = s.write("data.toml", "x\n1\n2\n");
    every(&mut s, "a CSV file given as model", &f, &["line 1"], false);

    // syntax: line and column, and the line's text so the key is named
    let text = model_with("sigma = 2.0", "sigma = = 2.0");
    let f = s.write("syntax.toml", &text);
    let at = format!("line {}, column 9", line_of(&text, "sigma"));
    every(&mut s, "syntax error", &f, &[&at], true);
    let text = model_with("[locs]", "[locs");
    let f = s.write("bracket.toml", &text);
    let at = format!("line {}", line_of(&text, "[locs"));
    every(&mut s, "unclosed table header", &f, &[&at], false);
    let text = model_with("k = 2", "k = 2\nk = 3");
    let f = s.write("dupkey.toml", &text);
    every(&mut s, "key twice", &f, &["line 2", "k = 3"], false);

    // keys: unknown, missing, wrong type (named by line and by the line's text)
    let text = model_with("sigma = 2.0", "sigmaa = 2.0");
    let f = s.write("unknown.toml", &text);
    let at = format!("line {}, column 1", line_of(&text, "sigmaa"));
    every(
        &mut s,
        "unknown key in [scale]",
        &f,
        &[&at, "sigmaa"],
        false,
    );
    let text = format!("{MODEL}\n[prior]\nx = 1\n");
    let f = s.write("table.toml", &text);
    every(&mut s, "unknown table", &f, &["prior"], false);
    let text = model_with("k = 2", "");
    let f = s.write("nok.toml", &text);
    every(&mut s, "missing k", &f, &["missing field `k`"], false);
    let text = model_with("[weights]", "").replace("concentration = 0.5\n", "");
    let f = s.write("noweights.toml", &text);
    every(
        &mut s,
        "missing [weights]",
        &f,
        &["missing field `weights`"],
        false,
    );
    let text = model_with("prior = \"lognormal\"", "");
    let f = s.write("noprior.toml", &text);
    every(
        &mut s,
        "missing prior",
        &f,
        &["missing field `prior`"],
        false,
    );
    for (name, from, to, key) in [
        ("k float", "k = 2", "k = 2.5", "k = 2.5"),
        ("d string", "d = 1", "d = \"one\"", "d = \"one\""),
        (
            "concentration string",
            "concentration = 0.5",
            "concentration = \"half\"",
            "concentration",
        ),
        (
            "loc list with a string",
            "loc = 0.0",
            "loc = [0.0, \"a\"]",
            "loc = [0.0, \"a\"]",
        ),
        (
            "sharing a number",
            "sharing = \"shared\"",
            "sharing = 3",
            "sharing = 3",
        ),
        (
            "ordered a string",
            "scale = 10.0",
            "scale = 10.0\nordered = \"yes\"",
            "ordered",
        ),
    ] {
        let text = model_with(from, to);
        let f = s.write(&format!("type-{}.toml", name.replace(' ', "-")), &text);
        let at = format!("line {}", line_of(&text, key.split(' ').next().unwrap()));
        every(
            &mut s,
            &format!("wrong type: {name}"),
            &f,
            &[&at, key],
            false,
        );
    }

    // values: k and d out of range (k = 0 and huge k are in tests/cli.rs)
    for (i, (name, from, to, parts)) in [
        (
            "d = 0",
            "d = 1",
            "d = 0",
            vec!["'d' must be at least 1", "got 0"],
        ),
        ("d < 0", "d = 1", "d = -2", vec!["'d'", "got -2"]),
        ("huge d", "d = 1", "d = 1000000", vec!["'d'", "too large"]),
        (
            "k just too large",
            "k = 2",
            "k = 100001",
            vec!["'k'", "too large"],
        ),
        (
            "k · d too large",
            "k = 2",
            "k = 100000",
            vec!["k · d", "too many"],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        if name == "k · d too large" {
            // with data, the data's dimension disagrees first: only without data
            let text = model_with(from, to).replace("d = 1\n", "d = 1000\n");
            let f = s.write("kd.toml", &text);
            s.fails(
                "k · d too large (simulate)",
                &["simulate", &f, "-n", "5"],
                &["kd.toml", "k · d", "too many"],
            );
            s.fails(
                "k · d too large (describe)",
                &["describe", &f],
                &["kd.toml", "k · d", "too many"],
            );
            continue;
        }
        let text = model_with(from, to);
        let f = s.write(&format!("range-{i}.toml"), &text);
        every(&mut s, name, &f, &parts, false);
    }
    // k = 0 and k < 0 for the commands tests/cli.rs leaves out
    let f = s.write("k0.toml", model_with("k = 2", "k = 0"));
    every(&mut s, "k = 0", &f, &["'k' must be at least 1"], true);

    // hyperparameters: zero, negative, NaN, infinite
    for (name, from, to, parts) in [
        (
            "sigma nan",
            "sigma = 2.0",
            "sigma = nan",
            vec!["'sigma'", "NaN"],
        ),
        (
            "sigma inf",
            "sigma = 2.0",
            "sigma = inf",
            vec!["'sigma'", "inf"],
        ),
        (
            "mu nan",
            "mu = 0.0",
            "mu = nan",
            vec!["'mu'", "finite", "NaN"],
        ),
        (
            "mu -inf",
            "mu = 0.0",
            "mu = -inf",
            vec!["'mu'", "finite", "-inf"],
        ),
        (
            "concentration inf",
            "concentration = 0.5",
            "concentration = inf",
            vec!["weights.concentration", "inf"],
        ),
        (
            "concentration nan in a list",
            "concentration = 0.5",
            "concentration = [0.5, nan]",
            vec!["weights.concentration[1]", "NaN"],
        ),
        ("loc nan", "loc = 0.0", "loc = nan", vec!["locs.loc", "NaN"]),
        (
            "loc inf",
            "loc = 0.0",
            "loc = -inf",
            vec!["locs.loc", "-inf"],
        ),
        (
            "locs.scale inf",
            "scale = 10.0",
            "scale = inf",
            vec!["locs.scale", "inf"],
        ),
        (
            "locs.scale nan",
            "scale = 10.0",
            "scale = nan",
            vec!["locs.scale", "NaN"],
        ),
    ] {
        let f = s.write(
            &format!("hyper-{}.toml", name.replace([' ', '.'], "-")),
            model_with(from, to),
        );
        every(&mut s, name, &f, &parts, false);
    }
    let prior = |p: &str| {
        model_with("prior = \"lognormal\"", "PRIOR")
            .replace("mu = 0.0\n", "")
            .replace("sigma = 2.0\n", "")
            .replace("PRIOR", p)
    };
    for (name, body, parts) in [
        (
            "inverse_gamma alpha 0",
            "prior = \"inverse_gamma\"\nalpha = 0.0\nbeta = 1.0",
            vec!["inverse_gamma", "'alpha'", "got 0"],
        ),
        (
            "inverse_gamma beta < 0",
            "prior = \"inverse_gamma\"\nalpha = 1.0\nbeta = -1.0",
            vec!["inverse_gamma", "'beta'", "got -1"],
        ),
        (
            "half_cauchy scale 0",
            "prior = \"half_cauchy\"\nscale = 0.0",
            vec!["half_cauchy", "'scale'", "got 0"],
        ),
        (
            "half_normal scale nan",
            "prior = \"half_normal\"\nscale = nan",
            vec!["half_normal", "'scale'", "NaN"],
        ),
        (
            "gamma alpha < 0",
            "prior = \"gamma\"\nalpha = -1.0\nbeta = 1.0",
            vec!["gamma", "'alpha'", "got -1"],
        ),
        (
            "exponential rate inf",
            "prior = \"exponential\"\nrate = inf",
            vec!["exponential", "'rate'", "inf"],
        ),
        (
            "exponential rate 0",
            "prior = \"exponential\"\nrate = 0.0",
            vec!["exponential", "'rate'", "got 0"],
        ),
        (
            "gamma given mu",
            "prior = \"gamma\"\nmu = 1.0\nalpha = 1.0\nbeta = 1.0",
            vec!["gamma", "takes 'alpha' and 'beta'", "not 'mu'"],
        ),
        (
            "inverse_gamma without beta",
            "prior = \"inverse_gamma\"\nalpha = 1.0",
            vec!["inverse_gamma", "missing 'beta'"],
        ),
        (
            "lognormal without sigma",
            "prior = \"lognormal\"\nmu = 0.0",
            vec!["lognormal", "missing 'sigma'"],
        ),
        (
            "unknown prior",
            "prior = \"cauchy\"",
            vec!["unknown scale prior 'cauchy'", "half_cauchy"],
        ),
    ] {
        let f = s.write(
            &format!("prior-{}.toml", name.replace(' ', "-")),
            prior(body),
        );
        every(&mut s, name, &f, &parts, false);
    }
    let f = s.write(
        "sharing.toml",
        model_with("sharing = \"shared\"", "sharing = \"per-component\""),
    );
    every(
        &mut s,
        "unknown sharing",
        &f,
        &["sharing 'per-component'", "component"],
        true,
    );

    // lists of the wrong length
    for (name, from, to, parts) in [
        (
            "3 concentrations for k = 2",
            "concentration = 0.5",
            "concentration = [0.5, 0.5, 0.5]",
            vec!["weights.concentration has 3 values", "2 components"],
        ),
        (
            "no concentration",
            "concentration = 0.5",
            "concentration = []",
            vec!["weights.concentration has 0 values"],
        ),
        (
            "2 locs for d = 1",
            "loc = 0.0",
            "loc = [0.0, 1.0]",
            vec!["locs.loc has 2 values", "1 dimensions"],
        ),
        (
            "3 scales for d = 1",
            "scale = 10.0",
            "scale = [1.0, 2.0, 3.0]",
            vec!["locs.scale has 3 values"],
        ),
    ] {
        let f = s.write(
            &format!("len-{}.toml", name.replace(' ', "-")),
            model_with(from, to),
        );
        every(&mut s, name, &f, &parts, false);
    }

    // the model against the data: sample and vi (fit is in tests/cli.rs)
    let m2 = s.write("d2.toml", model_with("d = 1", "d = 2"));
    s.fails(
        "model d = 2, data 1 column (sample)",
        &cat(&["sample", "builtin:tutorial", &m2], QUICK_SAMPLE),
        &["d2.toml", "dimension mismatch", "d = 2", "1 column"],
    );
    s.fails(
        "model d = 2, data 1 column (vi)",
        &cat(&["vi", "builtin:tutorial", &m2], QUICK_VI),
        &["d2.toml", "dimension mismatch", "d = 2", "1 column"],
    );
    let m3 = s.write("k6.toml", model_with("k = 2", "k = 6"));
    s.fails(
        "more components than points (sample)",
        &cat(&["sample", "builtin:tutorial", &m3], QUICK_SAMPLE),
        &["k6.toml", "builtin:tutorial", "fewer points (5)", "k = 6"],
    );
    s.fails(
        "more components than points (vi)",
        &cat(&["vi", "builtin:tutorial", &m3], QUICK_VI),
        &["k6.toml", "builtin:tutorial", "fewer points (5)", "k = 6"],
    );

    s.check();
}

/// Odd but valid model files work: a byte-order mark, CRLF line ends, no `d`.
#[test]
fn model_files_odd_but_valid() {
    let s = Suite::new();
    // fine: a byte-order mark, CRLF line ends, no `d` (the data's, or 1 when simulating)
    let bom = s.write(
        "bom.toml",
        format!("\u{feff}{}", MODEL.replace('\n', "\r\n")),
    );
    let plain = s.write("plain.toml", MODEL);
    let a = s.json(&["fit", "builtin:tutorial", &bom, "--json"]);
    let b = s.json(&["fit", "builtin:tutorial", &plain, "--json"]);
    assert_eq!(a["loss"], b["loss"]);
    assert_eq!(a["params"], b["params"]);
    let nod = s.write("nod.toml", model_with("d = 1", ""));
    let v = s.json(&["describe", &nod, "--json"]);
    assert_eq!(v["model"]["d"], 1);
    let v = s.json(&[
        "fit",
        "builtin:iris",
        "--columns",
        "petal_length,petal_width",
        &nod,
        "--json",
    ]);
    assert_eq!(v["model"]["d"], 2);
}

// ---------------------------------------------------------------------------------------------
// fixtures: a MAP fit, a sampling run and a classification of the tutorial data

/// `fit/` (a MAP fit), `run/` (a sampling run, 2 chains) and `cls/` (a classification) of the
/// tutorial data, and `model.toml`.
fn fixtures(s: &Suite) -> (String, String, String, String) {
    let m = s.write("model.toml", MODEL);
    let fit = s.p("fit");
    s.ok(&["fit", "builtin:tutorial", &m, "--out", &fit]);
    let run = s.p("run");
    s.ok(&[
        "sample",
        "builtin:tutorial",
        &m,
        "--chains",
        "2",
        "--warmup",
        "30",
        "--draws",
        "20",
        "--quiet",
        "--out",
        &run,
    ]);
    let cls = s.p("cls");
    s.ok(&["classify", &fit, "builtin:tutorial", "--out", &cls]);
    (m, fit, run, cls)
}

const STREAM: (&str, &str) = ("BGMM_STREAM_CSV_BYTES", "1");

// ---------------------------------------------------------------------------------------------
// data files (CSV): sample, vi, classify (a fit or a run), the streaming reader, minibatches

#[test]
fn csv_data_files() {
    let mut s = Suite::new();
    let (m, fit, run, _) = fixtures(&s);
    // every command that reads data, apart from `fit` (tests/cli.rs), with the data file `d`
    let readers = |d: &str| -> Vec<(String, Vec<String>)> {
        vec![
            (
                "sample".into(),
                strings(&cat(&["sample", d, &m], QUICK_SAMPLE)),
            ),
            ("vi".into(), strings(&cat(&["vi", d, &m], QUICK_VI))),
            ("classify a fit".into(), strings(&["classify", &fit, d])),
            ("classify a run".into(), strings(&["classify", &run, d])),
        ]
    };
    let every = |s: &mut Suite, name: &str, d: &str, extra: &[&str], parts: &[&str]| {
        let file = Path::new(d)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        for (cmd, args) in readers(d) {
            let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
            a.extend_from_slice(extra);
            let mut p = parts.to_vec();
            // an error in an option's value names the option, not the file
            if !parts[0].starts_with("--") {
                p.push(&file);
            }
            s.fails(&format!("{name} ({cmd})"), &a, &p);
        }
    };
    let cases: Vec<(&str, &str, &[u8], Vec<&str>)> = vec![
        ("empty file", "empty.csv", b"", vec!["empty"]),
        ("header only", "hdr.csv", b"x,y\n", vec!["no data rows"]),
        (
            "short row",
            "short.csv",
            b"x,y\n1,2\n3\n5,6\n",
            vec!["row 3", "expected 2 fields, found 1"],
        ),
        (
            "long row",
            "long.csv",
            b"x,y\n1,2\n3,4,5\n5,6\n",
            vec!["row 3", "expected 2 fields, found 3"],
        ),
        (
            "text cell",
            "text.csv",
            b"x,y\n1,2\n3,abc\n5,6\n",
            vec!["row 3", "column 'y'", "'abc'"],
        ),
        (
            "infinite cell",
            "inf.csv",
            b"x,y\n1,2\n3,-inf\n5,6\n",
            vec!["row 3", "column 'y'", "-inf", "finite"],
        ),
        // a missing cell (empty, NA, NaN, null) is read (issue 14); a column of nothing else
        // is an error
        (
            "a column with no value",
            "novalue.csv",
            b"x,y\n1,\n3,NA\n5,nan\n",
            vec!["column 'y' has no value", "all 3 of its cells are missing"],
        ),
        (
            "a column in the header only",
            "hdronly.csv",
            b"x,y,z\n1,,2\n3,,4\n",
            vec!["column 'y' has no value"],
        ),
        (
            "invalid UTF-8",
            "latin1.csv",
            b"x,y\n1,2\n3,\xe9\n",
            vec!["row 3", "UTF-8"],
        ),
        (
            "two columns with one name",
            "dup.csv",
            b"x,x\n1,2\n3,4\n5,6\n",
            vec!["two columns named 'x'"],
        ),
        (
            "no numeric column",
            "words.csv",
            b"a,b\nx,y\nz,w\n",
            vec!["no numeric column"],
        ),
    ];
    for (name, file, bytes, parts) in &cases {
        let d = s.write(file, bytes);
        every(&mut s, name, &d, &[], parts);
    }
    let d = s.p("nope.csv");
    every(
        &mut s,
        "missing file",
        &d,
        &[],
        &["data file", "No such file"],
    );
    let d = s.mkdir("dir.csv");
    every(&mut s, "a directory", &d, &[], &["data file", "directory"]);
    let two = s.write("two.csv", "a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n");
    every(
        &mut s,
        "two columns for a 1-D model or fit",
        &two,
        &[],
        &["dimension mismatch", "d = 1", "2 columns"],
    );
    every(
        &mut s,
        "--columns names a column the file lacks",
        &two,
        &["--columns", "a,nope"],
        &["no column 'nope'", "--columns", "a, b"],
    );
    every(
        &mut s,
        "--columns names a column twice",
        &two,
        &["--columns", "a,a"],
        &["--columns", "'a' twice"],
    );

    // the streaming reader (CSV files above 256 MB; here forced for small files)
    let stream_cases: Vec<&(&str, &str, &[u8], Vec<&str>)> = cases.iter().collect();
    for (name, file, _, parts) in &stream_cases {
        let d = s.p(file);
        let mut p = parts.clone();
        p.push(file);
        if *name == "no numeric column" {
            p = vec![file, "no numeric column"];
        }
        s.fails_env(
            &format!("{name} (fit, streaming reader)"),
            &["fit", &d, "-k", "1"],
            &p,
            &[STREAM],
        );
    }
    s.fails_env(
        "--columns names a column twice (fit, streaming reader)",
        &["fit", &two, "-k", "1", "--columns", "a,a"],
        &["--columns", "'a' twice"],
        &[STREAM],
    );
    s.fails_env(
        "--columns names a column the file lacks (fit, streaming reader)",
        &["fit", &two, "-k", "1", "--columns", "nope"],
        &["two.csv", "no column 'nope'"],
        &[STREAM],
    );

    // minibatches read the file themselves: the same errors
    for (name, file, _, parts) in &stream_cases {
        let d = s.p(file);
        let mut p = parts.clone();
        p.push(file);
        if *name == "no numeric column" {
            p = vec![file, "no numeric column"];
        }
        // a bad row may be met by a minibatch (no row number known, its byte offset instead)
        // or by the streaming pass (its row)
        if matches!(
            *name,
            "short row" | "long row" | "text cell" | "infinite cell" | "invalid UTF-8"
        ) {
            p.retain(|x| !x.starts_with("row "));
        }
        s.fails(
            &format!("{name} (fit --minibatch)"),
            &["fit", &d, "-k", "1", "--minibatch", "2"],
            &p,
        );
        s.fails(
            &format!("{name} (vi --minibatch)"),
            &cat(&["vi", &d, "-k", "1", "--minibatch", "2"], QUICK_VI),
            &p,
        );
    }
    s.fails(
        "--columns names a column the file lacks (fit --minibatch)",
        &[
            "fit",
            &two,
            "-k",
            "1",
            "--minibatch",
            "2",
            "--columns",
            "nope",
        ],
        &["two.csv", "no column 'nope'"],
    );
    s.fails(
        "--columns names a column twice (fit --minibatch)",
        &[
            "fit",
            &two,
            "-k",
            "1",
            "--minibatch",
            "2",
            "--columns",
            "a,a",
        ],
        &["--columns", "'a' twice"],
    );
    s.fails(
        "two columns for a 1-D model (fit --minibatch)",
        &["fit", &two, &m, "--minibatch", "2"],
        &["two.csv", "dimension mismatch", "d = 1", "2 columns"],
    );

    s.check();
}

/// Odd but valid CSV files work, with every reader: a byte-order mark, CRLF line ends, blank
/// lines, quoted fields (not for the streaming reader) and a text column.
#[test]
fn csv_data_files_odd_but_valid() {
    let s = Suite::new();
    let (m, fit, _, _) = fixtures(&s);
    // fine: a byte-order mark, CRLF line ends, quoted fields and a text column
    let tutorial = s.json(&["fit", "builtin:tutorial", &m, "--json"]);
    let odd = s.write(
        "odd.csv",
        "\u{feff}\"x\",\"label\"\r\n\"0\",\"a, b\"\r\n1,b\r\n10,c\r\n\r\n11,d\r\n12,e\r\n",
    );
    let v = s.json(&["fit", &odd, &m, "--json"]);
    assert_eq!(v["data"]["columns"], serde_json::json!(["x"]));
    assert_eq!(v["loss"], tutorial["loss"]);
    assert_eq!(v["params"], tutorial["params"]);
    let c = s.json(&["classify", &fit, &odd, "--json"]);
    assert_eq!(c["data"]["columns"], serde_json::json!(["x"]));
    assert_eq!(c["assignments"].as_array().unwrap().len(), 5);
    // the streaming reader and minibatches: a byte-order mark and CRLF (no quoted cells)
    let plain = s.write(
        "bom.csv",
        "\u{feff}x,label\r\n0,a\r\n1,b\r\n10,c\r\n\r\n11,d\r\n12,e\r\n",
    );
    let out = s.ok_env(&["fit", &plain, &m, "--json"], &[STREAM]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"]["columns"], serde_json::json!(["x"]));
    assert_eq!(v["loss"], tutorial["loss"]);
    for extra in [&[][..], &["--columns", "x"][..]] {
        let v = s.json(&cat(
            &[
                "fit",
                &plain,
                &m,
                "--minibatch",
                "2",
                "--sgd-steps",
                "10",
                "--json",
            ],
            extra,
        ));
        assert_eq!(v["data"]["columns"], serde_json::json!(["x"]));
        assert_eq!(v["data"]["n"], 5);
    }
}

// ---------------------------------------------------------------------------------------------
// NumPy files

/// A version 1.0 `.npy` file: header dict with `descr` (a Python literal, e.g. `'<f8'`),
/// `fortran_order` and `shape` (e.g. `(5,)`), then `data`.
fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut h = format!("{{'descr': {descr}, 'fortran_order': {order}, 'shape': {shape}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f8(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn f4(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

const TUTORIAL_X: [f64; 5] = [0.0, 1.0, 10.0, 11.0, 12.0];

#[test]
fn npy_data_files() {
    let mut s = Suite::new();
    let (m, fit, run, _) = fixtures(&s);
    let readers = |d: &str| -> Vec<(String, Vec<String>)> {
        vec![
            ("fit".into(), strings(&["fit", d, &m])),
            (
                "sample".into(),
                strings(&cat(&["sample", d, &m], QUICK_SAMPLE)),
            ),
            ("vi".into(), strings(&cat(&["vi", d, &m], QUICK_VI))),
            ("classify a fit".into(), strings(&["classify", &fit, d])),
            ("classify a run".into(), strings(&["classify", &run, d])),
            (
                "fit --minibatch".into(),
                strings(&["fit", d, &m, "--minibatch", "2"]),
            ),
        ]
    };
    let every = |s: &mut Suite, name: &str, file: &str, bytes: &[u8], parts: &[&str]| {
        let d = s.write(file, bytes);
        for (cmd, args) in readers(&d) {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut p = parts.to_vec();
            p.push(file);
            s.fails(&format!("{name} ({cmd})"), &a, &p);
        }
    };
    let x = f8(&TUTORIAL_X);
    every(
        &mut s,
        "3 bytes",
        "short.npy",
        b"\x93NU",
        &["too short", ".npy"],
    );
    every(
        &mut s,
        "no magic",
        "magic.npy",
        b"NUMPY? no, a text file\n",
        &["not a .npy file"],
    );
    every(
        &mut s,
        "magic and version only",
        "v.npy",
        b"\x93NUMPY\x01\x00",
        &[".npy header", "cut short"],
    );
    let mut h = npy("'<f8'", false, "(5,)", &x);
    h.truncate(30);
    every(
        &mut s,
        "header cut short",
        "hcut.npy",
        &h,
        &[".npy header", "cut short"],
    );
    let mut v4 = npy("'<f8'", false, "(5,)", &x);
    v4[6] = 4;
    every(
        &mut s,
        "format version 4",
        "v4.npy",
        &v4,
        &["version 4", "not supported"],
    );
    let mut nodescr = npy("'<f8'", false, "(5,)", &x);
    let at = nodescr.windows(7).position(|w| w == b"'descr'").unwrap();
    nodescr[at..at + 7].copy_from_slice(b"'dtype'");
    every(&mut s, "no descr", "nodescr.npy", &nodescr, &["no 'descr'"]);
    for (name, descr, width) in [
        ("int32", "'<i4'", 4),
        ("int64", "'<i8'", 8),
        ("complex", "'<c16'", 16),
        ("float16", "'<f2'", 2),
        ("big-endian float64", "'>f8'", 8),
        ("bool", "'|b1'", 1),
        ("object", "'|O'", 8),
        ("unicode", "'<U3'", 12),
    ] {
        let file = format!("dtype-{}.npy", name.replace(' ', "-"));
        let bytes = npy(descr, false, "(5,)", &vec![0u8; 5 * width]);
        let quoted = descr.to_string();
        every(
            &mut s,
            &format!("dtype {name}"),
            &file,
            &bytes,
            &["dtype", &quoted, "not supported"],
        );
    }
    every(
        &mut s,
        "structured dtype",
        "struct.npy",
        &npy("[('a', '<f8')]", false, "(5,)", &x),
        &["dtype [('a', '<f8')]", "not supported"],
    );
    for (name, shape, parts) in [
        ("3-D", "(5, 1, 1)", vec!["(5, 1, 1)", "not (N,) or (N, D)"]),
        ("0-D", "()", vec!["()", "not (N,) or (N, D)"]),
        ("no rows", "(0,)", vec!["no data"]),
        ("no columns", "(5, 0)", vec!["no data"]),
        ("negative", "(-5,)", vec!["shape"]),
    ] {
        let file = format!("shape-{}.npy", name.replace(' ', "-"));
        every(
            &mut s,
            &format!("shape {name}"),
            &file,
            &npy("'<f8'", false, shape, &x),
            &parts,
        );
    }
    every(
        &mut s,
        "data cut short",
        "dcut.npy",
        &npy("'<f8'", false, "(6,)", &x),
        &["cut short"],
    );
    // shapes whose byte count overflows 64 bits
    every(
        &mut s,
        "shape beyond 2^64 bytes",
        "huge.npy",
        &npy("'<f8'", false, "(18446744073709551615,)", &x),
        &["cut short"],
    );
    every(
        &mut s,
        "shape N × D beyond 2^64 values",
        "huge2.npy",
        &npy("'<f8'", false, "(4294967296, 4294967296)", &x),
        &["cut short"],
    );
    // infinite values: named by row (0-based, as numpy indexes) and column (NaN is a missing
    // value, issue 14)
    let mut bad = TUTORIAL_X;
    bad[3] = f64::NEG_INFINITY;
    every(
        &mut s,
        "-inf",
        "ninf.npy",
        &npy("'<f8'", false, "(5,)", &f8(&bad)),
        &["row 3", "column 'x'", "-inf", "finite"],
    );
    let badf4: Vec<f32> = vec![0.0, f32::INFINITY, 10.0, 11.0, 12.0];
    every(
        &mut s,
        "inf in float32",
        "inf4.npy",
        &npy("'<f4'", false, "(5,)", &f4(&badf4)),
        &["row 1", "column 'x'", "inf", "finite"],
    );
    // two columns, Fortran order, an infinity in column x1 row 4
    let mut cols = vec![1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 1.0, 10.0, 11.0, f64::INFINITY];
    every(
        &mut s,
        "inf, Fortran order",
        "inff.npy",
        &npy("'<f8'", true, "(5, 2)", &f8(&cols)),
        &["row 4", "column 'x1'", "inf", "finite"],
    );
    // a column of NaN (missing values) only
    let nan = f64::NAN;
    let allnan = [1.0, 2.0, 3.0, 4.0, 5.0, nan, nan, nan, nan, nan];
    every(
        &mut s,
        "a column of NaN only",
        "allnan.npy",
        &npy("'<f8'", true, "(5, 2)", &f8(&allnan)),
        &["column 'x1' has no value", "all 5 of its cells are missing"],
    );
    cols[9] = 12.0;
    // the model has d = 1: a (5, 2) array is two columns
    every(
        &mut s,
        "(N, 2) for a 1-D model or fit",
        "two.npy",
        &npy("'<f8'", true, "(5, 2)", &f8(&cols)),
        &["dimension mismatch", "d = 1", "2 columns"],
    );
    let two = s.p("two.npy");
    let m2 = s.write("d2.toml", model_with("d = 1", "d = 2"));
    let one = s.write("one.npy", npy("'<f8'", false, "(5,)", &x));
    s.fails(
        "(N,) is one column: not a 2-D model",
        &["fit", &one, &m2],
        &["d2.toml", "dimension mismatch", "d = 2", "1 column"],
    );
    s.fails(
        "--columns names a column the file lacks",
        &["fit", &two, "-k", "1", "--columns", "x0,y"],
        &["two.npy", "no column 'y'", "x0, x1"],
    );
    s.fails(
        "--columns names a column twice",
        &["fit", &two, "-k", "1", "--columns", "x1,x1"],
        &["--columns", "'x1' twice"],
    );
    s.fails(
        "a directory named .npy",
        &["fit", &s.mkdir("dir.npy"), &m],
        &["dir.npy", "directory"],
    );
    s.fails(
        "missing .npy",
        &["fit", &s.p("nope.npy"), &m],
        &["nope.npy", "No such file"],
    );

    s.check();
}

/// The same data as (N,) and (N, 1), float64 and float32, C and Fortran order: the same fit.
#[test]
fn npy_data_files_in_every_layout() {
    let s = Suite::new();
    let m = s.write("model.toml", MODEL);
    let x = f8(&TUTORIAL_X);
    let mut cols = vec![1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 1.0, 10.0, 11.0, 12.0];
    let two = s.write("two.npy", npy("'<f8'", true, "(5, 2)", &f8(&cols)));
    cols.clear();
    // fine, and the same: (N,) and (N, 1), float32, Fortran order, C order
    let tutorial = s.json(&["fit", "builtin:tutorial", &m, "--json"]);
    let x32: Vec<f32> = TUTORIAL_X.iter().map(|&v| v as f32).collect();
    for (file, bytes) in [
        ("a.npy", npy("'<f8'", false, "(5,)", &x)),
        ("b.npy", npy("'<f8'", false, "(5, 1)", &x)),
        ("c.npy", npy("'<f4'", true, "(5, 1)", &f4(&x32))),
    ] {
        let d = s.write(file, bytes);
        let v = s.json(&["fit", &d, &m, "--json"]);
        assert_eq!(v["data"]["columns"], serde_json::json!(["x"]), "{file}");
        assert_eq!(v["loss"], tutorial["loss"], "{file}");
    }
    let v = s.json(&["fit", &two, "-k", "1", "--columns", "x1", "--json"]);
    let loc = v["params"]["locs"][0].as_f64().unwrap();
    assert!(
        (loc - 6.8).abs() < 0.01,
        "mean of column x1 is 6.8, got {loc}"
    );
}

// ---------------------------------------------------------------------------------------------
// Parquet files

#[test]
#[cfg(not(feature = "parquet"))]
fn parquet_without_the_feature() {
    let mut s = Suite::new();
    let (m, fit, run, _) = fixtures(&s);
    let d = s.write("d.parquet", b"PAR1");
    for args in [
        cat(&["sample", &d, &m], QUICK_SAMPLE),
        cat(&["vi", &d, &m], QUICK_VI),
        vec!["classify", &fit, &d],
        vec!["classify", &run, &d],
    ] {
        s.fails(
            &format!("parquet without the feature ({})", args[0]),
            &args,
            &["d.parquet", "Parquet", "--features parquet"],
        );
    }
    s.check();
}

#[cfg(feature = "parquet")]
fn write_parquet(
    path: &str,
    schema: &str,
    write: impl FnOnce(&mut parquet::file::writer::SerializedRowGroupWriter<'_, std::fs::File>),
) {
    use std::sync::Arc;
    let schema = Arc::new(parquet::schema::parser::parse_message_type(schema).unwrap());
    let props = Arc::new(parquet::file::properties::WriterProperties::builder().build());
    let f = std::fs::File::create(path).unwrap();
    let mut w = parquet::file::writer::SerializedFileWriter::new(f, schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    write(&mut rg);
    rg.close().unwrap();
    w.close().unwrap();
}

#[test]
#[cfg(feature = "parquet")]
fn parquet_data_files() {
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType};
    let mut s = Suite::new();
    let (m, fit, run, _) = fixtures(&s);
    // x (double, one NaN at row 4 of `nan`), label (text)
    let file = |s: &Suite, name: &str, x: Vec<f64>, nullable: bool| -> String {
        let p = s.p(name);
        let schema = if nullable {
            "message m { optional double x; required binary label (UTF8); }"
        } else {
            "message m { required double x; required binary label (UTF8); }"
        };
        write_parquet(&p, schema, |rg| {
            let n = x.len();
            let mut c = rg.next_column().unwrap().unwrap();
            if nullable {
                // the last value is null
                let defs: Vec<i16> = (0..n).map(|i| (i + 1 < n) as i16).collect();
                c.typed::<DoubleType>()
                    .write_batch(&x[..n - 1], Some(&defs), None)
                    .unwrap();
            } else {
                c.typed::<DoubleType>().write_batch(&x, None, None).unwrap();
            }
            c.close().unwrap();
            let mut c = rg.next_column().unwrap().unwrap();
            let labels: Vec<ByteArray> = (0..n)
                .map(|i| ByteArray::from(format!("p{i}").as_str()))
                .collect();
            c.typed::<ByteArrayType>()
                .write_batch(&labels, None, None)
                .unwrap();
            c.close().unwrap();
        });
        p
    };
    let good = file(&s, "good.parquet", TUTORIAL_X.to_vec(), false);
    let mut bad = TUTORIAL_X.to_vec();
    bad[3] = f64::INFINITY;
    let inf = file(&s, "inf.parquet", bad, false);
    let null = file(&s, "null.parquet", TUTORIAL_X.to_vec(), true);
    let text_only = s.p("text.parquet");
    write_parquet(
        &text_only,
        "message m { required binary label (UTF8); }",
        |rg| {
            let mut c = rg.next_column().unwrap().unwrap();
            let labels: Vec<ByteArray> = (0..3)
                .map(|i| ByteArray::from(format!("p{i}").as_str()))
                .collect();
            c.typed::<ByteArrayType>()
                .write_batch(&labels, None, None)
                .unwrap();
            c.close().unwrap();
        },
    );
    let junk = s.write("junk.parquet", b"PAR1 this is not a Parquet file PAR1");
    let csv = s.write("csv.parquet", "x\n1\n2\n");
    let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        (
            "not Parquet (PAR1 but junk)",
            vec![&junk],
            vec!["junk.parquet", "not a readable Parquet file"],
        ),
        (
            "a CSV named .parquet",
            vec![&csv],
            vec!["csv.parquet", "not a readable Parquet file"],
        ),
        ("missing", vec![], vec!["nope.parquet", "No such file"]),
        (
            "a text column by --columns",
            vec![&good, "--columns", "label"],
            vec!["good.parquet", "no double or float column 'label'", "x"],
        ),
        (
            "a missing column by --columns",
            vec![&good, "--columns", "y"],
            vec!["good.parquet", "no double or float column 'y'"],
        ),
        (
            "--columns names a column twice",
            vec![&good, "--columns", "x,x"],
            vec!["--columns", "'x' twice"],
        ),
        (
            "only text columns",
            vec![&text_only],
            vec!["text.parquet", "no double or float column"],
        ),
        (
            "an infinity",
            vec![&inf],
            vec!["inf.parquet", "row 4", "column 'x'", "inf", "finite"],
        ),
    ];
    let nope = s.p("nope.parquet");
    for (name, args, parts) in cases {
        let args: Vec<&str> = if args.is_empty() { vec![&nope] } else { args };
        let (d, extra) = (args[0], &args[1..]);
        for (cmd, a) in [
            ("fit", vec!["fit", d, &m]),
            ("sample", cat(&["sample", d, &m], QUICK_SAMPLE)),
            ("vi", cat(&["vi", d, &m], QUICK_VI)),
            ("classify a fit", vec!["classify", &fit, d]),
            ("classify a run", vec!["classify", &run, d]),
        ] {
            s.fails(&format!("{name} ({cmd})"), &cat(&a, extra), &parts);
        }
    }
    s.fails(
        "--minibatch on Parquet",
        &["fit", &good, &m, "--minibatch", "2"],
        &["good.parquet", "--minibatch", "Parquet"],
    );
    // fine: the double column, the text column left out
    let v = s.json(&["fit", &good, &m, "--json"]);
    let tutorial = s.json(&["fit", "builtin:tutorial", &m, "--json"]);
    assert_eq!(v["data"]["columns"], serde_json::json!(["x"]));
    assert_eq!(v["loss"], tutorial["loss"]);
    // nulls and NaN are missing values (issue 14): classified by the observed values, a row
    // with nothing observed by the weights alone
    let mut with_nan = TUTORIAL_X.to_vec();
    with_nan[1] = f64::NAN;
    let nan = file(&s, "nan.parquet", with_nan, false);
    let f: Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(&fit).join("fit.json")).unwrap())
            .unwrap();
    let f64s = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    for (d, row) in [(&nan, 1), (&null, 4)] {
        let c = s.json(&["classify", &fit, d, "--json"]);
        assert_eq!(c["data"]["missing"], serde_json::json!([1]), "{d}");
        assert_eq!(c["data"]["n"], 5);
        let p = f64s(&c["probs"][row]);
        let w = f64s(&f["params"]["weights"]);
        for (a, b) in p.iter().zip(&w) {
            assert!(
                (a - b).abs() < 1e-12,
                "{d}: row {row} {p:?} against the weights {w:?}"
            );
        }
    }
    s.check();
}

// ---------------------------------------------------------------------------------------------
// fit files (JSON, or a directory holding fit.json): classify, sample --from-fit, predict,
// plot, report

#[test]
fn fit_files() {
    let mut s = Suite::new();
    let (m, fit, run, _) = fixtures(&s);
    let good_text = std::fs::read_to_string(Path::new(&fit).join("fit.json")).unwrap();
    let good: Value = serde_json::from_str(&good_text).unwrap();
    // every command that reads a fit, given `f` (a file or directory)
    let readers = |f: &str| -> Vec<(String, Vec<String>)> {
        vec![
            (
                "classify".into(),
                strings(&["classify", f, "builtin:tutorial"]),
            ),
            (
                "sample --from-fit".into(),
                strings(&cat(
                    &["sample", "builtin:tutorial", &m, "--from-fit", f],
                    QUICK_SAMPLE,
                )),
            ),
            ("predict".into(), strings(&["predict", f])),
        ]
    };
    let every = |s: &mut Suite, name: &str, f: &str, parts: &[&str]| {
        for (cmd, args) in readers(f) {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            s.fails(&format!("{name} ({cmd})"), &a, parts);
        }
    };
    // fit directories for plot and report: a copy of `fit/` with fit.json replaced
    let dir_with = |s: &mut Suite, name: &str, dir: &str, text: &[u8], parts: &[&str]| {
        let d = s.copy_dir("fit", dir);
        std::fs::write(Path::new(&d).join("fit.json"), text).unwrap();
        for cmd in ["plot", "report"] {
            s.fails(&format!("{name} ({cmd})"), &[cmd, &d], parts);
        }
    };

    let f = s.p("nope.json");
    for (cmd, args) in readers(&f).into_iter().skip(2) {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        s.fails(
            &format!("missing ({cmd})"),
            &a,
            &["nope.json", "No such file"],
        );
    }
    let d = s.mkdir("nofit");
    every(
        &mut s,
        "a directory without fit.json",
        &d,
        &["nofit", "fit.json"],
    );
    let f = s.write("empty.json", "");
    every(
        &mut s,
        "empty",
        &f,
        &["empty.json", "not a bgmm fit", "line 1"],
    );
    dir_with(
        &mut s,
        "empty fit.json",
        "d-empty",
        b"",
        &["d-empty", "fit.json", "line 1"],
    );
    let f = s.write("notjson.json", "fit: yes\n");
    every(
        &mut s,
        "not JSON",
        &f,
        &["notjson.json", "not a bgmm fit", "line 1, column"],
    );
    // cut in the middle
    let half = &good_text[..good_text.len() / 2];
    let lines = 1 + half.matches('\n').count();
    let f = s.write("cut.json", half);
    let at = format!("line {lines}");
    every(
        &mut s,
        "truncated",
        &f,
        &["cut.json", "not a bgmm fit", &at],
    );
    dir_with(
        &mut s,
        "truncated fit.json",
        "d-cut",
        half.as_bytes(),
        &["d-cut", "fit.json", &at],
    );
    // JSON of another shape
    for (name, file, text) in [
        ("an array", "array.json", "[1, 2, 3]\n".to_string()),
        ("null", "null.json", "null\n".to_string()),
        ("a string", "string.json", "\"fit\"\n".to_string()),
    ] {
        let f = s.write(file, &text);
        every(
            &mut s,
            &format!("JSON {name}"),
            &f,
            &[file, "not a bgmm fit"],
        );
    }
    let summary = Path::new(&run).join("summary.json");
    let classification = s.p("cls/classify.json");
    for (name, f) in [
        ("a run's summary.json", summary.to_str().unwrap()),
        ("a classify.json", &classification),
    ] {
        for (cmd, args) in readers(f) {
            // predict reads a run directory, not its summary.json file: also not a fit
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            s.fails(
                &format!("{name} as a fit ({cmd})"),
                &a,
                &["not a bgmm fit", "missing field"],
            );
        }
    }
    // a field missing, or of the wrong type, in an otherwise good fit
    let mut edit = |name: &str, file: &str, change: &dyn Fn(&mut Value), parts: &[&str]| {
        let mut v = good.clone();
        change(&mut v);
        let text = serde_json::to_string_pretty(&v).unwrap();
        let f = s.write(file, &text);
        let mut p = parts.to_vec();
        p.push(file);
        every(&mut s, name, &f, &p);
        dir_with(&mut s, name, &format!("d-{file}"), text.as_bytes(), parts);
    };
    edit(
        "no params",
        "noparams.json",
        &|v| {
            v.as_object_mut().unwrap().remove("params");
        },
        &["missing field `params`"],
    );
    edit(
        "a loc is a string",
        "locstr.json",
        &|v| v["params"]["locs"][0] = "0.5".into(),
        &["not a bgmm fit", "string \"0.5\"", "expected a number"],
    );
    edit(
        "a loc is null (NaN written by another tool)",
        "locnull.json",
        &|v| v["params"]["locs"][0] = Value::Null,
        &["not a bgmm fit", "null", "expected a number"],
    );
    edit(
        "3 locs for k = 2",
        "locs3.json",
        &|v| v["params"]["locs"] = serde_json::json!([0.0, 1.0, 2.0]),
        &["parameters are invalid", "locs"],
    );
    edit(
        "3 weights for k = 2",
        "weights3.json",
        &|v| v["params"]["weights"] = serde_json::json!([0.2, 0.3, 0.5]),
        &["parameters are invalid", "weights"],
    );
    edit(
        "weights not summing to 1",
        "wsum.json",
        &|v| v["params"]["weights"] = serde_json::json!([0.5, 0.6]),
        &["parameters are invalid", "weights", "sum to 1"],
    );
    edit(
        "a negative scale",
        "negscale.json",
        &|v| v["params"]["scale"] = serde_json::json!(-1.0),
        &["parameters are invalid", "scale"],
    );
    edit(
        "its model has k = 3, its parameters 2 components",
        "k3.json",
        &|v| v["model"]["k"] = 3.into(),
        &["parameters are invalid"],
    );
    edit(
        "its model has an unknown prior",
        "prior.json",
        &|v| v["model"]["scale"]["prior"] = "weibull".into(),
        &["its model is invalid", "'weibull'"],
    );
    edit(
        "written by a newer bgmm that renamed a field",
        "newer.json",
        &|v| {
            let o = v.as_object_mut().unwrap();
            let p = o.remove("params").unwrap();
            o.insert("parameters".into(), p);
            o.insert("bgmm_version".into(), "99.0.0".into());
        },
        &[
            "missing field `params`",
            "written by bgmm 99.0.0, this is bgmm 0.",
        ],
    );
    // a NaN written literally (Python's json.dump does) or a number beyond f64
    let nan_text = good_text.replacen("\"loss\": ", "\"loss\": NaN, \"x\": ", 1);
    let f = s.write("nan.json", &nan_text);
    every(
        &mut s,
        "NaN literal",
        &f,
        &["nan.json", "not a bgmm fit", "line"],
    );
    let big_text = good_text.replacen("\"loss\": ", "\"loss\": 1e999, \"x\": ", 1);
    let f = s.write("big.json", &big_text);
    every(&mut s, "1e999", &f, &["big.json", "not a bgmm fit", "line"]);

    // the fit against the model or the data
    let other = s.write("k3.toml", model_with("k = 2", "k = 3"));
    s.fails(
        "--from-fit of a model with another k",
        &cat(
            &["sample", "builtin:tutorial", &other, "--from-fit", &fit],
            QUICK_SAMPLE,
        ),
        &["--from-fit", "fit", "different model", "k3.toml"],
    );
    let m2 = s.write("d2.toml", model_with("d = 1", "d = 2"));
    s.fails(
        "--from-fit of a 1-D fit for 2-D data",
        &cat(
            &[
                "sample",
                "builtin:iris",
                "--columns",
                "petal_length,petal_width",
                &m2,
                "--from-fit",
                &fit,
            ],
            QUICK_SAMPLE,
        ),
        &["--from-fit", "different model", "d2.toml"],
    );
    // the data of a fit directory gone: plot and report re-read them
    let data = s.write("gone.csv", "x\n0\n1\n10\n11\n12\n");
    let gone = s.p("fit-gone");
    s.ok(&["fit", &data, &m, "--out", &gone]);
    std::fs::remove_file(&data).unwrap();
    for cmd in ["plot", "report"] {
        s.fails(
            &format!("the fit's data file is gone ({cmd})"),
            &[cmd, &gone],
            &["fit-gone", "fit.json", "gone.csv", "cannot be read again"],
        );
    }

    s.check();
}

/// A fit written by another bgmm version is read when its fields are the same.
#[test]
fn fit_files_of_another_version() {
    let s = Suite::new();
    let (_, fit, _, _) = fixtures(&s);
    let good: Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(&fit).join("fit.json")).unwrap())
            .unwrap();
    // fine: a fit written by another bgmm version, when its fields are the same
    let mut v = good.clone();
    v["bgmm_version"] = "99.0.0".into();
    let f = s.write("v99.json", serde_json::to_string(&v).unwrap());
    let c = s.json(&["classify", &f, "builtin:tutorial", "--json"]);
    let c0 = s.json(&["classify", &fit, "builtin:tutorial", "--json"]);
    assert_eq!(c["assignments"], c0["assignments"]);
    assert_eq!(c["probs"], c0["probs"]);
}

// ---------------------------------------------------------------------------------------------
// run directories (sample/vi --out, classify --out): classify, predict, plot, report

#[test]
fn run_directories() {
    let mut s = Suite::new();
    let (_, _, run, cls) = fixtures(&s);
    let cls_name = Path::new(&cls)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let chain = std::fs::read_to_string(Path::new(&run).join("chain-0.csv")).unwrap();
    let summary = std::fs::read_to_string(Path::new(&run).join("summary.json")).unwrap();
    // every command that reads a sampling run
    let readers = |d: &str| -> Vec<(String, Vec<String>)> {
        vec![
            (
                "classify".into(),
                strings(&["classify", d, "builtin:tutorial"]),
            ),
            ("predict".into(), strings(&["predict", d])),
            ("plot".into(), strings(&["plot", d])),
            ("report".into(), strings(&["report", d])),
        ]
    };
    let every = |s: &mut Suite, name: &str, d: &str, parts: &[&str], which: &[&str]| {
        for (cmd, args) in readers(d) {
            if !which.is_empty() && !which.contains(&cmd.as_str()) {
                continue;
            }
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            s.fails(&format!("{name} ({cmd})"), &a, parts);
        }
    };
    // a copy of the run with one file replaced (None: removed)
    let run_with = |s: &mut Suite, dir: &str, file: &str, text: Option<&str>| -> String {
        let d = s.copy_dir("run", dir);
        let p = Path::new(&d).join(file);
        match text {
            Some(t) => std::fs::write(p, t).unwrap(),
            None => std::fs::remove_file(p).unwrap(),
        }
        d
    };

    // the directory itself
    let d = s.p("nope");
    every(
        &mut s,
        "missing",
        &d,
        &["nope", "does not exist"],
        &["plot", "report"],
    );
    every(
        &mut s,
        "missing",
        &d,
        &["nope", "No such file"],
        &["predict", "classify"],
    );
    let d = s.write("afile", "just text\n");
    every(
        &mut s,
        "a file, not a directory",
        &d,
        &["afile", "not a directory"],
        &["plot", "report"],
    );
    every(
        &mut s,
        "a file, not a directory",
        &d,
        &["afile", "not a bgmm fit"],
        &["predict", "classify"],
    );
    let d = s.mkdir("emptydir");
    every(
        &mut s,
        "empty",
        &d,
        &["emptydir", "no bgmm run"],
        &["plot", "report"],
    );
    every(
        &mut s,
        "empty",
        &d,
        &["emptydir", "fit.json"],
        &["predict", "classify"],
    );

    // summary.json
    let d = run_with(&mut s, "r-sum-empty", "summary.json", Some(""));
    every(
        &mut s,
        "empty summary.json",
        &d,
        &["r-sum-empty", "summary.json", "line 1"],
        &[],
    );
    let half = &summary[..summary.len() / 2];
    let d = run_with(&mut s, "r-sum-cut", "summary.json", Some(half));
    let at = format!("line {}", (1 + half.matches('\n').count()));
    every(
        &mut s,
        "truncated summary.json",
        &d,
        &["r-sum-cut", "summary.json", &at],
        &[],
    );
    let mut v: Value = serde_json::from_str(&summary).unwrap();
    v.as_object_mut().unwrap().remove("model");
    let d = run_with(
        &mut s,
        "r-sum-nomodel",
        "summary.json",
        Some(&v.to_string()),
    );
    every(
        &mut s,
        "summary.json without a model",
        &d,
        &["r-sum-nomodel", "summary.json", "model"],
        &[],
    );
    let mut v: Value = serde_json::from_str(&summary).unwrap();
    v["model"]["k"] = 0.into();
    let d = run_with(&mut s, "r-sum-k0", "summary.json", Some(&v.to_string()));
    every(
        &mut s,
        "summary.json with k = 0",
        &d,
        &["r-sum-k0", "summary.json", "'k'"],
        &[],
    );
    let mut v: Value = serde_json::from_str(&summary).unwrap();
    v["model"]["k"] = 3.into();
    let d = run_with(&mut s, "r-sum-k3", "summary.json", Some(&v.to_string()));
    every(
        &mut s,
        "summary.json with k = 3, draws of 2 components",
        &d,
        &["r-sum-k3", "chain-0.csv", "expected"],
        &[],
    );
    let mut v: Value = serde_json::from_str(&summary).unwrap();
    v["data"].as_object_mut().unwrap().remove("n");
    let d = run_with(&mut s, "r-sum-non", "summary.json", Some(&v.to_string()));
    every(
        &mut s,
        "summary.json without data.n",
        &d,
        &["r-sum-non", "summary.json", "data.n"],
        &["predict"],
    );

    // the chains
    let d = run_with(&mut s, "r-nochain", "chain-0.csv", None);
    every(
        &mut s,
        "no chain-0.csv",
        &d,
        &["r-nochain", "chain-0.csv"],
        &[],
    );
    let header_end = chain.find("\nlp__").unwrap() + 1;
    let header_only = &chain[..header_end + chain[header_end..].find('\n').unwrap() + 1];
    let d = run_with(&mut s, "r-nodraws", "chain-0.csv", Some(header_only));
    every(
        &mut s,
        "chain-0.csv without draws",
        &d,
        &["r-nodraws", "chain-0.csv", "no draws"],
        &[],
    );
    let d = run_with(&mut s, "r-empty-chain", "chain-0.csv", Some(""));
    every(
        &mut s,
        "chain-0.csv empty",
        &d,
        &["r-empty-chain", "chain-0.csv", "no draws"],
        &[],
    );
    // cut in the middle of a row
    // at the third comma from the end: the last row has 3 fields too few
    let cut_at = chain.rmatch_indices(',').nth(2).unwrap().0;
    let d = run_with(&mut s, "r-chain-cut", "chain-0.csv", Some(&chain[..cut_at]));
    let row = 1 + chain[..cut_at].trim_end().matches('\n').count();
    let at = format!("row {row}");
    every(
        &mut s,
        "chain-0.csv cut in a row",
        &d,
        &["r-chain-cut", "chain-0.csv", &at, "fields"],
        &[],
    );
    // a value that is not a number, named by its row and column
    let lines: Vec<&str> = chain.lines().collect();
    let first_draw = lines
        .iter()
        .position(|l| !l.starts_with('#') && !l.starts_with("lp__"))
        .unwrap();
    let mut cells: Vec<String> = lines[first_draw].split(',').map(String::from).collect();
    let header: Vec<&str> = lines[first_draw - 1].split(',').collect();
    let col = header.iter().position(|h| *h == "locs.2").unwrap();
    for (name, value) in [("text", "abc"), ("NaN", "nan"), ("infinite", "inf")] {
        cells[col] = value.to_string();
        let mut l = lines.clone();
        let joined = cells.join(",");
        l[first_draw] = &joined;
        let d = run_with(
            &mut s,
            &format!("r-chain-{name}"),
            "chain-0.csv",
            Some(&(l.join("\n") + "\n")),
        );
        let at = format!("row {}", first_draw + 1);
        let quoted = format!("'{value}'");
        every(
            &mut s,
            &format!("chain-0.csv: a {name} value"),
            &d,
            &["chain-0.csv", &at, "locs.2", &quoted],
            &[],
        );
    }
    // weights not summing to 1
    let mut cells: Vec<String> = lines[first_draw].split(',').map(String::from).collect();
    let w = header.iter().position(|h| *h == "weights.1").unwrap();
    cells[w] = "0.9".into();
    cells[w + 1] = "0.9".into();
    let mut l = lines.clone();
    let joined = cells.join(",");
    l[first_draw] = &joined;
    let d = run_with(
        &mut s,
        "r-chain-w",
        "chain-0.csv",
        Some(&(l.join("\n") + "\n")),
    );
    let at = format!("row {}", first_draw + 1);
    every(
        &mut s,
        "chain-0.csv: weights not summing to 1",
        &d,
        &["chain-0.csv", &at, "weights"],
        &[],
    );
    // chain-1.csv cut short
    let chain1 = std::fs::read_to_string(Path::new(&run).join("chain-1.csv")).unwrap();
    let cut1 = chain1.rmatch_indices(',').nth(2).unwrap().0;
    let d = run_with(&mut s, "r-chain1-cut", "chain-1.csv", Some(&chain1[..cut1]));
    every(
        &mut s,
        "chain-1.csv cut in a row",
        &d,
        &["r-chain1-cut", "chain-1.csv", "fields"],
        &[],
    );

    // classify.json (plot and report read it back)
    let cls_text = std::fs::read_to_string(Path::new(&cls).join("classify.json")).unwrap();
    let with_cls = |s: &mut Suite, dir: &str, text: &str, parts: &[&str]| {
        let d = s.copy_dir(&cls_name, dir);
        std::fs::write(Path::new(&d).join("classify.json"), text).unwrap();
        for cmd in ["plot", "report"] {
            s.fails(&format!("{dir} ({cmd})"), &[cmd, &d], parts);
        }
    };
    let half = &cls_text[..cls_text.len() / 2];
    let at = format!("line {}", (1 + half.matches('\n').count()));
    with_cls(&mut s, "c-cut", half, &["c-cut", "classify.json", &at]);
    with_cls(
        &mut s,
        "c-empty",
        "",
        &["c-empty", "classify.json", "line 1"],
    );
    let mut v: Value = serde_json::from_str(&cls_text).unwrap();
    v["assignments"] = serde_json::json!([0, 1]);
    with_cls(
        &mut s,
        "c-short",
        &v.to_string(),
        &["c-short", "classify.json", "2 assignments for 5 points"],
    );
    let mut v: Value = serde_json::from_str(&cls_text).unwrap();
    v["probs"] = serde_json::json!("none");
    with_cls(
        &mut s,
        "c-probs",
        &v.to_string(),
        &["c-probs", "classify.json", "probs"],
    );
    let mut v: Value = serde_json::from_str(&cls_text).unwrap();
    let k = v["probs"][0].as_array().unwrap().len();
    v["assignments"][2] = serde_json::json!(k);
    with_cls(
        &mut s,
        "c-z-too-big",
        &v.to_string(),
        &[
            "c-z-too-big",
            "classify.json",
            &format!("point 3 is assigned to component {k}, but there are {k} components"),
        ],
    );
    let mut v: Value = serde_json::from_str(&cls_text).unwrap();
    let n = v["probs"].as_array().unwrap().len();
    v["probs"] = serde_json::json!(vec![Vec::<f64>::new(); n]);
    with_cls(
        &mut s,
        "c-probs-empty",
        &v.to_string(),
        &[
            "c-probs-empty",
            "classify.json",
            "point 1 has no assignment probabilities",
        ],
    );
    let mut v: Value = serde_json::from_str(&cls_text).unwrap();
    v["data"]["source"] = s.p("gone.csv").into();
    with_cls(
        &mut s,
        "c-gone",
        &v.to_string(),
        &[
            "c-gone",
            "classify.json",
            "gone.csv",
            "cannot be read again",
        ],
    );

    // where the output goes
    let f = s.write("file-out", "x");
    s.fails(
        "plot --out is a file",
        &["plot", &run, "--out", &f],
        &["file-out", "a file with that name exists"],
    );
    s.fails(
        "report --out in a missing directory",
        &["report", &run, "--out", &s.p("no/such/dir/r.html")],
        &["r.html", "no/such/dir", "does not exist"],
    );
    let d = s.mkdir("a-dir.html");
    s.fails(
        "report --out is a directory",
        &["report", &run, "--out", &d],
        &["a-dir.html", "directory"],
    );
    s.fails(
        "plot --format jpg",
        &["plot", &run, "--format", "jpg"],
        &["--format", "'jpg'", "svg, png, both"],
    );
    s.fails(
        "classify a run with --method svi",
        &["classify", &run, "builtin:tutorial", "--method", "svi"],
        &["--method svi", "MAP fit"],
    );
    s.check();
}

// ---------------------------------------------------------------------------------------------
// options: out of range, conflicting, and the argument parser's own errors

#[test]
fn options() {
    let mut s = Suite::new();
    let (m, fit, run, _) = fixtures(&s);
    let data = s.write("d.csv", "x\n0\n1\n10\n11\n12\n");
    // the quick settings, less those the case sets itself
    let quick = |q: &[&str], extra: &[&str]| -> Vec<String> {
        let mut v = Vec::new();
        for pair in q.chunks(2) {
            if !extra.iter().any(|e| e.split('=').next() == Some(pair[0])) {
                v.extend(pair.iter().map(|x| x.to_string()));
            }
        }
        v.extend(strings(extra));
        v
    };
    let sample = |extra: &[&str]| -> Vec<String> {
        let mut v = strings(&["sample", "builtin:tutorial", &m]);
        v.extend(quick(
            &["--chains", "1", "--warmup", "20", "--draws", "20"],
            extra,
        ));
        v.push("--quiet".into());
        v
    };
    let vi = |extra: &[&str]| -> Vec<String> {
        let mut v = strings(&["vi", "builtin:tutorial", &m]);
        v.extend(quick(QUICK_VI, extra));
        v
    };
    let cases: Vec<(&str, Vec<String>, Vec<&str>)> = vec![
        // sample
        (
            "sample --draws 0",
            sample(&["--draws", "0"]),
            vec!["--draws", "got 0"],
        ),
        (
            "sample --draws 3",
            sample(&["--draws", "3"]),
            vec!["--draws", "at least 4"],
        ),
        (
            "sample --target-accept 0",
            sample(&["--target-accept", "0"]),
            vec!["--target-accept"],
        ),
        (
            "sample --target-accept 1",
            sample(&["--target-accept", "1"]),
            vec!["--target-accept"],
        ),
        (
            "sample --target-accept nan",
            sample(&["--target-accept", "nan"]),
            vec!["--target-accept"],
        ),
        (
            "sample --max-depth 31",
            sample(&["--max-depth", "31"]),
            vec!["--max-depth", "got 31"],
        ),
        // vi
        (
            "vi --steps 0",
            vi(&["--steps", "0"]),
            vec!["--steps", "at least 1"],
        ),
        ("vi --lr 0", vi(&["--lr", "0"]), vec!["--lr", "got 0"]),
        ("vi --lr nan", vi(&["--lr", "nan"]), vec!["--lr", "NaN"]),
        ("vi --lr -1", vi(&["--lr=-1"]), vec!["--lr", "got -1"]),
        (
            "vi --mc-samples 0",
            vi(&["--mc-samples", "0"]),
            vec!["--mc-samples", "at least 1"],
        ),
        (
            "vi --draws 0",
            vi(&["--draws", "0"]),
            vec!["--draws", "at least 4", "got 0"],
        ),
        (
            "vi --minibatch 0",
            strings(&["vi", &data, &m, "--minibatch", "0"]),
            vec!["--minibatch", "at least 1"],
        ),
        (
            "vi --minibatch on builtin data",
            strings(&["vi", "builtin:tutorial", &m, "--minibatch", "2"]),
            vec!["--minibatch", "builtin:tutorial"],
        ),
        // fit
        (
            "fit --candidates 0",
            strings(&["fit", "builtin:tutorial", &m, "--candidates", "0"]),
            vec!["--candidates", "at least 1"],
        ),
        (
            "fit --minibatch 0",
            strings(&["fit", &data, &m, "--minibatch", "0"]),
            vec!["--minibatch", "at least 1"],
        ),
        (
            "fit --sgd-steps 0",
            strings(&["fit", &data, &m, "--minibatch", "2", "--sgd-steps", "0"]),
            vec!["--sgd-steps", "at least 1"],
        ),
        (
            "fit --sgd-lr 0",
            strings(&["fit", &data, &m, "--minibatch", "2", "--sgd-lr", "0"]),
            vec!["--sgd-lr", "got 0"],
        ),
        (
            "fit --sgd-lr nan",
            strings(&["fit", &data, &m, "--minibatch", "2", "--sgd-lr", "nan"]),
            vec!["--sgd-lr", "NaN"],
        ),
        (
            "fit --sgd-lr -1",
            strings(&["fit", &data, &m, "--minibatch", "2", "--sgd-lr=-1"]),
            vec!["--sgd-lr", "got -1"],
        ),
        (
            "fit --columns ''",
            strings(&["fit", "builtin:tutorial", "-k", "2", "--columns", ""]),
            vec!["--columns"],
        ),
        (
            "fit --columns 'x,'",
            strings(&["fit", "builtin:tutorial", "-k", "2", "--columns", "x,"]),
            vec!["--columns", "empty column name"],
        ),
        // classify, predict
        (
            "classify --svi-steps 0",
            strings(&[
                "classify",
                &fit,
                "builtin:tutorial",
                "--method",
                "svi",
                "--svi-steps",
                "0",
            ]),
            vec!["--svi-steps", "at least 1"],
        ),
        (
            "predict --max-draws 0",
            strings(&["predict", &run, "--max-draws", "0"]),
            vec!["--max-draws", "at least 1"],
        ),
        (
            "predict --sets 0",
            strings(&["predict", &fit, "--sets", "0"]),
            vec!["--sets", "at least 1"],
        ),
        (
            "predict -n 0 (a fit)",
            strings(&["predict", &fit, "-n", "0"]),
            vec!["-n", "at least 1"],
        ),
        (
            "predict too many values",
            strings(&["predict", &fit, "-n", "100000000", "--sets", "100"]),
            vec!["2e8 values"],
        ),
        // simulate, describe
        (
            "simulate --format csv,npy",
            strings(&["simulate", &m, "--format", "csv,npy"]),
            vec!["--format", "'csv,npy'"],
        ),
        // output directories that are files
        (
            "fit --out is a file",
            strings(&["fit", "builtin:tutorial", &m, "--out", &data]),
            vec!["d.csv", "a file with that name exists"],
        ),
        (
            "classify --out is a file",
            strings(&["classify", &fit, "builtin:tutorial", "--out", &data]),
            vec!["d.csv", "a file with that name exists"],
        ),
        (
            "simulate --out is a file",
            strings(&["simulate", &m, "--out", &data]),
            vec!["d.csv", "a file with that name exists"],
        ),
        (
            "predict --out is a file",
            strings(&["predict", &fit, "--out", &data]),
            vec!["d.csv", "a file with that name exists"],
        ),
        (
            "sample --out is a file",
            sample(&["--out", &data]),
            vec!["d.csv", "a file with that name exists"],
        ),
        (
            "vi --out is a file",
            vi(&["--out", &data]),
            vec!["d.csv", "a file with that name exists"],
        ),
        (
            "demo --out is a file",
            strings(&["demo", "--quiet", "--out", &data]),
            vec!["d.csv", "a file with that name exists"],
        ),
        // bench takes no file: only its choice
        (
            "bench foo",
            strings(&["bench", "foo"]),
            vec!["bench", "'foo'", "kernel, fit, search, all"],
        ),
        // the argument parser: one line too, exit code 2, naming the argument
        (
            "not a number",
            sample(&["--chains", "two"]),
            vec!["'two'", "--chains"],
        ),
        (
            "a negative count",
            sample(&["--chains=-1"]),
            vec!["'-1'", "--chains"],
        ),
        (
            "a negative seed",
            strings(&["fit", "builtin:tutorial", &m, "--seed=-1"]),
            vec!["'-1'", "--seed"],
        ),
        (
            "temperature 300",
            strings(&["classify", &fit, "builtin:tutorial", "--temperature", "300"]),
            vec!["'300'", "--temperature"],
        ),
        (
            "an unknown option",
            strings(&["fit", "builtin:tutorial", &m, "--restart", "3"]),
            vec!["'--restart'"],
        ),
        (
            "an unknown command",
            strings(&["frobnicate"]),
            vec!["'frobnicate'"],
        ),
        (
            "a missing argument",
            strings(&["simulate"]),
            vec!["<MODEL>"],
        ),
        (
            "a missing value",
            strings(&["fit", "builtin:tutorial", &m, "--seed"]),
            vec!["--seed"],
        ),
        (
            "an option twice",
            strings(&["fit", "builtin:tutorial", &m, "--seed", "1", "--seed", "2"]),
            vec!["--seed"],
        ),
        (
            "no command",
            strings(&[]),
            vec!["no command given", "simulate", "bench", "--help"],
        ),
    ];
    for (name, args, parts) in &cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        s.fails(name, &a, parts);
    }
    // an output directory where the last file to write is taken by a directory: nothing at
    // all is written (not the files before it)
    for (cmd, last, args) in [
        (
            "classify",
            "assignments.csv",
            strings(&["classify", &fit, "builtin:tutorial"]),
        ),
        ("sample", "summary.json", sample(&[])),
        ("vi", "summary.json", vi(&[])),
        (
            "simulate",
            "truth.json",
            strings(&["simulate", &m, "-n", "5"]),
        ),
    ] {
        let out = s.mkdir(&format!("taken-{cmd}/{last}"));
        let out = Path::new(&out)
            .parent()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
        a.extend(["--out", &out]);
        s.fails(
            &format!("{cmd} --out with {last} taken by a directory"),
            &a,
            &[last, "directory"],
        );
    }
    s.check();
}

/// `--subsample 1` is fine: the search's subsample has at least 200 points per component.
#[test]
fn subsample_one_is_200_per_component() {
    let s = Suite::new();
    let m = s.write("model.toml", MODEL);
    // fine: --subsample 1 (the search's subsample is at least 200 points per component)
    let many: String = std::iter::once("x\n".to_string())
        .chain((0..2500).map(|i| {
            format!(
                "{}\n",
                (i % 50) as f64 * 0.1 + if i % 2 == 0 { 0.0 } else { 20.0 }
            )
        }))
        .collect();
    let big = s.write("many.csv", many);
    let v = s.json(&["fit", &big, &m, "--subsample", "1", "--json"]);
    assert_eq!(v["history"]["subsample"], 400);
}

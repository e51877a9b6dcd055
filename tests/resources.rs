//! Resource limits are errors: the binary run under an address-space limit (`ulimit -v` in
//! `sh`, in a child process), on data without line breaks, on a FIFO, and with options beyond
//! their bounds, must print one line naming the file or option and exit with code 2 — never
//! abort (134) with a backtrace, panic or hang.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_bgmm");

/// Run `bgmm args` under `ulimit -v kib` (none if 0) with `env`; (exit code, stderr).
fn run_limited(kib: u64, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut script = String::new();
    if kib > 0 {
        script.push_str(&format!("ulimit -v {kib}; "));
    }
    script.push_str("exec \"$0\" \"$@\"");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .arg(BIN)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        // glibc reserves 64 MB of address space for every thread's malloc arena (up to 8 per
        // core), so under `ulimit -v` the number of threads that happened to allocate at once,
        // not the data, would decide a small run's fate; two arenas keep the limit about the
        // buffers these tests are about
        .env("MALLOC_ARENA_MAX", "2")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("cannot run sh");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The run failed as a bad input does: exit code 2, one line, holding every part.
fn one_line_error(what: &str, (code, stderr): (Option<i32>, String), parts: &[&str]) {
    let shown: String = stderr.chars().take(2000).collect();
    assert_eq!(
        code,
        Some(2),
        "{what}: exit code {code:?}, stderr:\n{shown}"
    );
    assert_eq!(stderr.lines().count(), 1, "{what}: not one line:\n{shown}");
    assert!(stderr.starts_with("error: "), "{what}: {shown}");
    assert!(stderr.len() < 600, "{what}: a long line:\n{shown}");
    for p in parts {
        assert!(stderr.contains(p), "{what}: no '{p}' in: {shown}");
    }
}

fn write(dir: &TempDir, name: &str, text: &[u8]) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// A file of `len` bytes, all zero (sparse: instant, whatever its size), without a line break.
fn zeros(dir: &TempDir, name: &str, len: u64) -> String {
    let p = dir.path().join(name);
    std::fs::File::create(&p).unwrap().set_len(len).unwrap();
    p.to_str().unwrap().to_string()
}

/// A one-column CSV of `rows` rows "1": 2 bytes a row in the file, 8 in memory.
fn ones(dir: &TempDir, name: &str, rows: usize) -> String {
    let mut text = b"x\n".to_vec();
    text.extend(std::iter::repeat_n(*b"1\n", rows).flatten());
    write(dir, name, &text)
}

/// What every command needs to start (the binary, its threads' stacks): 150 MB is ample for
/// the small fits below, as the first check shows.
const LIMIT_KIB: u64 = 150_000;

#[test]
fn data_larger_than_the_address_space_is_an_error_naming_the_file() {
    let dir = TempDir::new().unwrap();
    // the limit itself leaves room for a small fit
    let (code, stderr) = run_limited(LIMIT_KIB, &["fit", "builtin:tutorial", "-k", "2"], &[]);
    assert_eq!(code, Some(0), "{stderr}");

    // 50 MB of text, 200 MB of values: the in-memory reader's columns cannot grow
    let big = ones(&dir, "ones.csv", 25_000_000);
    let r = run_limited(LIMIT_KIB, &["fit", &big, "-k", "1"], &[]);
    one_line_error(
        "in-memory reader",
        r,
        &["cannot allocate", "ones.csv", "out of memory"],
    );
    // the streaming reader (the file taken as large) reserves its 200 MB columns at once
    let r = run_limited(
        LIMIT_KIB,
        &["fit", &big, "-k", "1"],
        &[("BGMM_STREAM_CSV_BYTES", "1000")],
    );
    one_line_error(
        "streaming reader",
        r,
        &[
            "cannot allocate 200.0 MB",
            "25000000 rows × 1 column",
            "ones.csv",
        ],
    );
    // a 200 MB file read whole: its size cannot be reserved
    let z = zeros(&dir, "zeros.csv", 200 << 20);
    let r = run_limited(LIMIT_KIB, &["fit", &z, "-k", "1"], &[]);
    one_line_error(
        "file read whole",
        r,
        &["cannot allocate 209.7 MB", "zeros.csv"],
    );
}

#[test]
fn a_line_without_end_is_an_error_naming_the_file_and_line() {
    let dir = TempDir::new().unwrap();
    // a 2 GB line under 1 GB: the streaming reader (a file over 256 MB) stops at the cap
    let long = zeros(&dir, "line.csv", 2 << 30);
    let r = run_limited(1_000_000, &["fit", &long, "-k", "1"], &[]);
    one_line_error(
        "2 GB line",
        r,
        &["line 1 of '", "line.csv' is longer than 67108864 bytes"],
    );
    // /dev/zero as data: not read forever
    let t = Instant::now();
    let r = run_limited(1_000_000, &["fit", "/dev/zero", "-k", "1"], &[]);
    one_line_error("/dev/zero", r, &["line 1 of '/dev/zero' is longer than"]);
    assert!(t.elapsed() < Duration::from_secs(20));
    // a later line, by each reader (the cap lowered for the test)
    let f = write(&dir, "late.csv", b"x\n1\n2\n333333333333\n4\n");
    let cap = [("BGMM_MAX_LINE_BYTES", "8")];
    let r = run_limited(0, &["fit", &f, "-k", "1"], &cap);
    one_line_error(
        "in memory",
        r,
        &["line 4 of '", "late.csv' is longer than 8 bytes"],
    );
    let stream = [cap[0], ("BGMM_STREAM_CSV_BYTES", "1")];
    let r = run_limited(0, &["fit", &f, "-k", "1"], &stream);
    one_line_error(
        "streamed",
        r,
        &["line 4 of '", "late.csv' is longer than 8 bytes"],
    );
    let r = run_limited(0, &["fit", &f, "-k", "1", "--minibatch", "2"], &cap);
    one_line_error("minibatch", r, &["late.csv", "longer than 8 bytes"]);
}

#[test]
fn a_fifo_is_refused_where_the_reader_seeks() {
    let dir = TempDir::new().unwrap();
    for name in ["fifo.csv", "fifo.npy"] {
        let p = dir.path().join(name);
        let ok = Command::new("mkfifo").arg(&p).status().unwrap().success();
        assert!(ok, "mkfifo");
        let p = p.to_str().unwrap();
        let t = Instant::now();
        let args: &[&str] = if name.ends_with(".csv") {
            &["fit", p, "-k", "1", "--minibatch", "10"]
        } else {
            &["fit", p, "-k", "1"]
        };
        let r = run_limited(0, args, &[]);
        one_line_error(name, r, &[name, "not a regular file"]);
        assert!(t.elapsed() < Duration::from_secs(10), "{name}: it waited");
    }
}

#[test]
fn options_beyond_their_bounds_are_refused_before_work() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &[
                "fit",
                "builtin:tutorial",
                "-k",
                "2",
                "--restarts",
                "4000000000",
            ],
            &["--restarts must be at most 1000000, got 4000000000"],
        ),
        (
            &[
                "fit",
                "builtin:tutorial",
                "-k",
                "2",
                "--candidates",
                "20000",
            ],
            &["--candidates must be at most 10000"],
        ),
        (
            &[
                "fit",
                "builtin:tutorial",
                "-k",
                "2",
                "--steps",
                "1000000000",
            ],
            &["--steps must be at most 100000000"],
        ),
        (
            &[
                "sample",
                "builtin:tutorial",
                "-k",
                "2",
                "--chains",
                "100000",
            ],
            &["--chains must be at most 256, got 100000"],
        ),
        (
            &[
                "sample",
                "builtin:tutorial",
                "-k",
                "2",
                "--draws",
                "4000000000",
            ],
            &["--draws must be at most 100000000"],
        ),
        (
            &[
                "sample",
                "builtin:tutorial",
                "-k",
                "2",
                "--warmup",
                "4000000000",
            ],
            &["--warmup must be at most 100000000"],
        ),
        (
            &["vi", "builtin:tutorial", "-k", "2", "--draws", "4000000000"],
            &["--draws must be at most 100000000"],
        ),
        (
            &[
                "vi",
                "builtin:tutorial",
                "-k",
                "2",
                "--mc-samples",
                "1000000",
            ],
            &["--mc-samples must be at most 100000"],
        ),
    ];
    for (args, parts) in cases {
        let t = Instant::now();
        one_line_error(&args.join(" "), run_limited(0, args, &[]), parts);
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{args:?}: not before work"
        );
    }
}

#[test]
fn memory_sized_by_an_option_is_reserved_fallibly() {
    // within the bounds, but not within the address space: the option is named
    let r = run_limited(
        LIMIT_KIB,
        &[
            "sample",
            "builtin:tutorial",
            "-k",
            "2",
            "--draws",
            "90000000",
            "--quiet",
        ],
        &[],
    );
    one_line_error(
        "sample --draws",
        r,
        &[
            "cannot allocate 49.0 GB for 4 chains of 90000000 draws",
            "(--draws)",
        ],
    );
    let r = run_limited(
        LIMIT_KIB,
        &[
            "vi",
            "builtin:tutorial",
            "-k",
            "2",
            "--steps",
            "10",
            "--draws",
            "40000000",
        ],
        &[],
    );
    one_line_error(
        "vi --draws",
        r,
        &["cannot allocate", "40000000 draws", "(--draws)"],
    );
    let r = run_limited(
        LIMIT_KIB,
        &[
            "fit",
            "builtin:tutorial",
            "-k",
            "2",
            "--restarts",
            "1000000",
        ],
        &[],
    );
    one_line_error(
        "fit --restarts",
        r,
        &[
            "cannot allocate",
            "restarts of 5 parameters",
            "(--restarts)",
        ],
    );
}

#[test]
fn huge_input_is_quoted_short() {
    let dir = TempDir::new().unwrap();
    // a 10 MB TOML string
    let long = "x".repeat(10 << 20);
    let m = write(
        &dir,
        "m.toml",
        format!("k = 2\nscale = \"{long}\"\n").as_bytes(),
    );
    let r = run_limited(0, &["describe", &m, "-n", "3"], &[]);
    one_line_error("TOML string", r, &["m.toml", "line 2", "more characters"]);
    // a 1 MB column name, and a 1 MB cell
    let d = write(&dir, "d.csv", format!("a,{long}\n1,2\n3,4\n").as_bytes());
    let r = run_limited(0, &["fit", &d, "-k", "1", "--columns", "b"], &[]);
    one_line_error(
        "column name",
        r,
        &["d.csv", "no column 'b'", "more characters"],
    );
    let c = write(&dir, "c.csv", format!("a\n1\n{long}\n").as_bytes());
    let r = run_limited(0, &["fit", &c, "-k", "1"], &[]);
    one_line_error("cell", r, &["c.csv", "row 3", "cannot parse 'xxx"]);
    // an option's value (as long as an argument may be)
    let r = run_limited(0, &["fit", "builtin:tutorial", "-k", &long[..100_000]], &[]);
    one_line_error("option value", r, &["--components", "more characters"]);
    // a path
    let p = format!("{}/{}.csv", dir.path().display(), "y".repeat(200));
    let r = run_limited(0, &["fit", &p, "-k", "1"], &[]);
    one_line_error("path", r, &["cannot read data file", "more characters"]);
    let _ = Path::new(&p);
}

#[test]
fn simulated_and_predicted_data_are_reserved_fallibly() {
    let dir = TempDir::new().unwrap();
    let m = write(
        &dir,
        "m.toml",
        b"k = 2\nd = 100\n[weights]\nconcentration = 1.0\n[locs]\nloc = 0.0\nscale = 4.0\n[scale]\nsharing = \"shared\"\nprior = \"lognormal\"\nmu = 0.0\nsigma = 0.5\n",
    );
    let r = run_limited(LIMIT_KIB, &["simulate", &m, "-n", "10000000"], &[]);
    one_line_error(
        "simulate -n",
        r,
        &["cannot allocate 8.1 GB for 10000000 points of 100 dimensions (-n)"],
    );
    let fit = dir.path().join("fit");
    let fit = fit.to_str().unwrap();
    let (code, stderr) = run_limited(
        0,
        &["fit", "builtin:tutorial", "-k", "2", "--out", fit],
        &[],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let r = run_limited(
        LIMIT_KIB,
        &["predict", fit, "--sets", "1000", "-n", "100000"],
        &[],
    );
    one_line_error(
        "predict --sets -n",
        r,
        &["cannot allocate 6.4 GB for 1000 data sets of 100000 points (-n, --max-draws)"],
    );
}

/// One row of 1e5 columns, one component: linear work (before: 13.5 s, 70 % of it in
/// pairwise column name comparisons, and over 100 s for 1e6 columns before the bound on `d`
/// was reached; now 2.0 s, and 2.4 s to refuse 1e6 columns).
#[test]
fn wide_data_fit_in_linear_time() {
    let dir = TempDir::new().unwrap();
    let d = 100_000;
    let header: Vec<String> = (0..d).map(|i| format!("c{i}")).collect();
    let row: Vec<String> = (0..d)
        .map(|i| format!("{}", (i * 7919 % 1000) as f64 / 1000.0))
        .collect();
    let f = write(
        &dir,
        "wide.csv",
        format!("{}\n{}\n", header.join(","), row.join(",")).as_bytes(),
    );
    let t = Instant::now();
    let (code, stderr) = run_limited(0, &["fit", &f, "-k", "1", "--json"], &[]);
    let took = t.elapsed();
    assert_eq!(code, Some(0), "{}", &stderr[..stderr.len().min(2000)]);
    assert!(took < Duration::from_secs(25), "took {took:?}");
    // a row of a million columns is refused with the reason, at once
    let t = Instant::now();
    let header: Vec<String> = (0..1_000_000).map(|i| format!("c{i}")).collect();
    let row = vec!["0.5"; 1_000_000];
    let f = write(
        &dir,
        "wider.csv",
        format!("{}\n{}\n", header.join(","), row.join(",")).as_bytes(),
    );
    let r = run_limited(0, &["fit", &f, "-k", "1"], &[]);
    one_line_error(
        "1e6 columns",
        r,
        &["'d' = 1000000 is too large (at most 100000)"],
    );
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "took {:?}",
        t.elapsed()
    );
}

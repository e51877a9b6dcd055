//! Run directories are one unit: a command's `--out` is written whole or not at all, replaces
//! an older run whole, never interleaves with a concurrent writer, never writes through links
//! or over special files, and leaves no temporaries; readers refuse a directory whose files do
//! not belong together. Each test reproduces a way a user lost or mixed a run before.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_bgmm");

fn bgmm(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("cannot run bgmm")
}

fn ok(args: &[&str]) -> String {
    let out = bgmm(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bgmm {args:?} failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The one-line error of a command that must fail with exit code 2.
fn fails(args: &[&str]) -> String {
    let out = bgmm(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "bgmm {args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    errors[0].to_string()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A short sampling run of the tutorial's five points into `out`.
fn sample_args<'a>(out: &'a str, chains: &'a str, seed: &'a str) -> Vec<&'a str> {
    vec![
        "sample",
        "builtin:tutorial",
        "-k",
        "2",
        "--chains",
        chains,
        "--warmup",
        "30",
        "--draws",
        "20",
        "--seed",
        seed,
        "--quiet",
        "--json",
        "--out",
        out,
    ]
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// bgmm's temporaries in `dir` (names `.X.tmp-PID-N` and `.X.bgmm-stage-PID-N`).
fn temporaries(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.starts_with('.') && (n.contains(".tmp-") || n.contains(".bgmm-stage-")))
        .collect()
}

/// The draws `predict` finds in a sampling run, and its chains per the summary.
fn draws_seen(run: &Path) -> (u64, usize) {
    let v: Value = serde_json::from_str(&ok(&[
        "predict",
        p(run),
        "-n",
        "1",
        "--max-draws",
        "1",
        "--json",
    ]))
    .unwrap();
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    (
        v["draws_total"].as_u64().unwrap(),
        summary["chains"].as_array().unwrap().len(),
    )
}

/// Every chain file's command line is the summary's: the files come from one run.
fn one_run(run: &Path) -> String {
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let command = summary["command"].as_str().unwrap().to_string();
    let chains = summary["chains"].as_array().unwrap().len();
    let files: Vec<String> = names(run)
        .into_iter()
        .filter(|n| n.ends_with(".csv"))
        .collect();
    assert_eq!(files.len(), 2 * chains, "{files:?} for {chains} chains");
    for f in files {
        let text = fs::read_to_string(run.join(&f)).unwrap();
        assert!(
            text.lines().any(|l| l == format!("# command: {command}")),
            "{f} is not from `{command}`"
        );
    }
    command
}

#[test]
fn a_run_again_with_fewer_chains_replaces_the_whole_run() {
    let t = TempDir::new().unwrap();
    let r = t.path().join("run");
    ok(&sample_args(p(&r), "4", "1"));
    assert_eq!(draws_seen(&r), (80, 4));
    ok(&sample_args(p(&r), "2", "2"));
    // before: chain-2 and chain-3 of the first run stayed, and predict drew from 4 chains
    assert_eq!(draws_seen(&r), (40, 2));
    assert!(!r.join("chain-2.csv").exists() && !r.join("raw-chain-3.csv").exists());
    assert!(one_run(&r).contains("--seed 2"));
    assert!(temporaries(t.path()).is_empty() && temporaries(&r).is_empty());
}

#[test]
fn runs_share_a_directory_and_the_users_files_stay() {
    let t = TempDir::new().unwrap();
    let r = t.path().join("r");
    ok(&["fit", "builtin:tutorial", "-k", "2", "--out", p(&r)]);
    fs::write(r.join("notes.txt"), "mine\n").unwrap();
    ok(&["classify", p(&r), "builtin:tutorial", "--out", p(&r)]);
    ok(&[
        "fit",
        "builtin:tutorial",
        "-k",
        "2",
        "--seed",
        "5",
        "--out",
        p(&r),
    ]);
    assert_eq!(
        names(&r),
        [
            "assignments.csv",
            "classify.json",
            "fit.json",
            "manifest.json",
            "notes.txt"
        ]
    );
    assert_eq!(fs::read_to_string(r.join("notes.txt")).unwrap(), "mine\n");
    let m: Value =
        serde_json::from_str(&fs::read_to_string(r.join("manifest.json")).unwrap()).unwrap();
    let files = m["files"].as_object().unwrap();
    assert_eq!(files["fit.json"]["run"], "fit");
    assert_eq!(files["classify.json"]["run"], "classify");
    assert_eq!(files["assignments.csv"]["run"], "classify");
    assert!(!files.contains_key("notes.txt"));
    for (name, e) in files {
        assert_eq!(
            e["bytes"].as_u64().unwrap(),
            fs::metadata(r.join(name)).unwrap().len(),
            "{name}"
        );
    }
    // both runs still read (plot finds the fit and the classification)
    let plots = t.path().join("plots");
    ok(&["plot", p(&r), "--out", p(&plots), "--format", "svg"]);
    assert!(names(&plots).iter().any(|n| n.starts_with("classify")));
    // a simulation would take the classification's assignments.csv: refused, nothing changed
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/models/tutorial.toml");
    let e = fails(&["simulate", p(&model), "-n", "5", "--out", p(&r)]);
    assert!(
        e.contains("'assignments.csv' belongs to the classification there"),
        "{e}"
    );
    assert_eq!(names(&r).len(), 5);
}

#[test]
fn readers_refuse_a_directory_whose_files_do_not_belong_together() {
    let t = TempDir::new().unwrap();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    ok(&sample_args(p(&a), "2", "1"));
    ok(&sample_args(p(&b), "2", "2"));
    // a chain of another run copied in
    fs::copy(b.join("chain-1.csv"), a.join("chain-1.csv")).unwrap();
    for cmd in [
        vec!["predict", p(&a), "-n", "1"],
        vec!["classify", p(&a), "builtin:tutorial"],
        vec!["report", p(&a), "--out", p(&t.path().join("r.html"))],
    ] {
        let e = fails(&cmd);
        assert!(
            e.contains(&format!(
                "run directory '{}' does not hold one whole sampling run: 'chain-1.csv' is not the file its manifest lists",
                a.display()
            )),
            "{cmd:?}: {e}"
        );
    }
    // a chain the manifest does not list
    fs::copy(b.join("chain-1.csv"), b.join("chain-2.csv")).unwrap();
    let e = fails(&["predict", p(&b), "-n", "1"]);
    assert!(
        e.contains("'chain-2.csv' is not in its manifest.json"),
        "{e}"
    );
    // a run written before manifests: the chain files must match the summary's chains
    fs::remove_file(b.join("manifest.json")).unwrap();
    let e = fails(&["predict", p(&b), "-n", "1"]);
    assert!(
        e.contains("does not hold one whole sampling run: 3 chain files, 2 in its summary.json"),
        "{e}"
    );
    fs::remove_file(b.join("chain-2.csv")).unwrap();
    ok(&["predict", p(&b), "-n", "1"]);
    // a fit whose file was changed by hand
    let f = t.path().join("f");
    ok(&["fit", "builtin:tutorial", "-k", "2", "--out", p(&f)]);
    let text = fs::read_to_string(f.join("fit.json")).unwrap();
    fs::write(
        f.join("fit.json"),
        text.replacen("\"seed\"", " \"seed\"", 1),
    )
    .unwrap();
    let e = fails(&["classify", p(&f), "builtin:tutorial"]);
    assert!(e.contains("does not hold one whole fit"), "{e}");
}

#[cfg(unix)]
#[test]
fn out_never_writes_through_links_or_over_special_files() {
    use std::os::unix::fs::{symlink, FileTypeExt};
    let t = TempDir::new().unwrap();
    let run = t.path().join("run");
    ok(&["fit", "builtin:tutorial", "-k", "2", "--out", p(&run)]);
    // a link as --out for a run directory
    let real = t.path().join("real");
    fs::create_dir(&real).unwrap();
    let link = t.path().join("link");
    symlink(&real, &link).unwrap();
    let e = fails(&["fit", "builtin:tutorial", "-k", "2", "--out", p(&link)]);
    assert!(e.contains("it is a symbolic link"), "{e}");
    let e = fails(&["plot", p(&run), "--out", p(&link)]);
    assert!(e.contains("it is a symbolic link"), "{e}");
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(names(&real).is_empty());
    // a link as --out for a file: the link stays, what it points to is untouched
    let target = t.path().join("target.html");
    fs::write(&target, "keep").unwrap();
    let html = t.path().join("report.html");
    symlink(&target, &html).unwrap();
    let e = fails(&["report", p(&run), "--out", p(&html)]);
    assert!(e.contains("it is a symbolic link"), "{e}");
    assert!(fs::symlink_metadata(&html)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_to_string(&target).unwrap(), "keep");
    // a FIFO
    let fifo = t.path().join("fifo.html");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let e = fails(&["report", p(&run), "--out", p(&fifo)]);
    assert!(e.contains("it is a FIFO"), "{e}");
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    // a device node (root only: as root, `report --out /dev/null` replaced /dev/null)
    let null = t.path().join("null");
    if Command::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        let e = fails(&["report", p(&run), "--out", p(&null)]);
        assert!(e.contains("it is a character device"), "{e}");
        assert!(fs::symlink_metadata(&null)
            .unwrap()
            .file_type()
            .is_char_device());
        let e = fails(&["fit", "builtin:tutorial", "-k", "2", "--out", p(&null)]);
        assert!(e.contains("it is a character device"), "{e}");
    } else {
        eprintln!("mknod not permitted here: the device case is not run");
    }
    // nor are records read from one: /dev/zero as a FIT grew memory without bound
    let e = fails(&["classify", "/dev/zero", "builtin:tutorial"]);
    assert!(
        e.contains("'/dev/zero'") && e.contains("not a regular file (a FIFO, socket or device)"),
        "{e}"
    );
    // a directory that holds a directory is not a run directory
    let deep = t.path().join("deep");
    fs::create_dir_all(deep.join("sub")).unwrap();
    let e = fails(&["fit", "builtin:tutorial", "-k", "2", "--out", p(&deep)]);
    assert!(e.contains("it holds 'sub', a directory"), "{e}");
    // nor the current directory, or one that holds it
    for out in [".", p(t.path())] {
        let o = Command::new(BIN)
            .args(["fit", "builtin:tutorial", "-k", "2", "--out", out])
            .current_dir(&deep)
            .output()
            .unwrap();
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(e.contains("it is the current directory or holds it"), "{e}");
    }
    assert!(temporaries(t.path()).is_empty());
}

/// Two writers of one `--out` at once: the directory ends up wholly one of them.
#[test]
fn concurrent_writers_do_not_interleave() {
    let t = TempDir::new().unwrap();
    let r = t.path().join("same");
    for trial in 0..8 {
        let (s1, s2) = (format!("{}", 10 + trial), format!("{}", 50 + trial));
        let spawn = |args: Vec<&str>| -> Child {
            Command::new(BIN)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let a = spawn(sample_args(p(&r), "2", &s1));
        let b = spawn(sample_args(p(&r), "3", &s2));
        for mut c in [a, b] {
            assert!(c.wait().unwrap().success());
        }
        let command = one_run(&r);
        let (draws, chains) = draws_seen(&r);
        assert_eq!(draws, 20 * chains as u64);
        assert!(
            command.contains(&format!("--seed {s1}")) == (chains == 2),
            "{command}"
        );
    }
    // simulations: data, assignments and truth of one seed
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/models/tutorial.toml");
    let s = t.path().join("sim");
    let truth = |seed: &str| {
        let d = t.path().join(format!("alone-{seed}"));
        ok(&[
            "simulate",
            p(&model),
            "-n",
            "2000",
            "--seed",
            seed,
            "--out",
            p(&d),
        ]);
        fs::read_to_string(d.join("data.csv")).unwrap()
    };
    let (d1, d2) = (truth("1"), truth("2"));
    for _ in 0..6 {
        let children: Vec<Child> = ["1", "2"]
            .iter()
            .map(|seed| {
                Command::new(BIN)
                    .args(["simulate", p(&model), "-n", "2000", "--seed", seed])
                    .args(["--with-assignments", "--out", p(&s)])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success());
        }
        let t: Value =
            serde_json::from_str(&fs::read_to_string(s.join("truth.json")).unwrap()).unwrap();
        let data = fs::read_to_string(s.join("data.csv")).unwrap();
        match t["seed"].as_u64().unwrap() {
            1 => assert!(data == d1),
            2 => assert!(data == d2),
            other => panic!("seed {other}"),
        }
    }
    assert!(temporaries(t.path()).is_empty());
}

/// A write that fails part-way (here the file-size limit stands in for a full disk) leaves the
/// old run as it was and no temporaries.
#[cfg(unix)]
#[test]
fn a_failed_write_leaves_the_old_run_whole() {
    let t = TempDir::new().unwrap();
    let r = t.path().join("run");
    // 10 draws: each chain file is about 2.4 kB, the summary about 4.6 kB
    let args = |chains, seed| {
        let mut a = sample_args(p(&r), chains, seed);
        a[9] = "10";
        a
    };
    ok(&args("2", "1"));
    let before = one_run(&r);
    // at most 3.5 kB per file: the chains can be written, the summary cannot (before, the new
    // chains replaced the old ones and the old summary stayed). SIGXFSZ ignored, so that
    // writing past the limit fails with EFBIG instead of killing.
    let script = format!(
        "trap '' XFSZ; exec prlimit --fsize=3584 '{BIN}' {}",
        args("4", "2")
            .iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let line = stderr.lines().find(|l| l.starts_with("error:")).unwrap();
    assert!(
        line.contains("cannot write '") && line.contains("summary.json': File too large"),
        "{line}"
    );
    assert_eq!(one_run(&r), before);
    assert_eq!(draws_seen(&r), (20, 2));
    assert!(temporaries(t.path()).is_empty() && temporaries(&r).is_empty());
}

#[test]
fn temporaries_of_killed_processes_are_removed_by_the_next_write() {
    let t = TempDir::new().unwrap();
    let r = t.path().join("run");
    ok(&["fit", "builtin:tutorial", "-k", "2", "--out", p(&r)]);
    // pids beyond any system's limit: processes that cannot be running
    let dead = [
        t.path().join(".run.bgmm-stage-2147483647-0"),
        t.path().join(".other.bgmm-stage-2147483646-3"),
    ];
    for d in &dead {
        fs::create_dir(d).unwrap();
        fs::write(d.join("chain-0.csv"), "x").unwrap();
    }
    let stale_file = r.join(".fit.json.tmp-2147483647-0");
    fs::write(&stale_file, "half").unwrap();
    // one of a process that runs (this test's) is not touched
    let live = t
        .path()
        .join(format!(".run.bgmm-stage-{}-0", std::process::id()));
    fs::create_dir(&live).unwrap();
    ok(&["fit", "builtin:tutorial", "-k", "2", "--out", p(&r)]);
    assert!(dead.iter().all(|d| !d.exists()));
    assert!(live.exists());
    // the stale file inside the run is not carried into the new run
    assert!(!r.join(".fit.json.tmp-2147483647-0").exists());
    // readers pass over staging directories
    fs::remove_dir(&live).unwrap();
    let stage = t.path().join(".run.bgmm-stage-1-0");
    fs::create_dir(&stage).unwrap();
    fs::write(stage.join("fit.json"), "{").unwrap();
    ok(&["plot", p(t.path()), "--out", p(&t.path().join("pics"))]);
}

/// SIGTERM twice during `sample --out`: whatever moment the second lands, the process ends
/// with 130, the directory is a whole run or absent, and no temporary stays.
#[cfg(unix)]
#[test]
fn a_second_signal_discards_what_is_not_in_place_and_says_so() {
    let t = TempDir::new().unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/models/iris.toml");
    for (i, gap_ms) in [0u64, 5, 40].into_iter().enumerate() {
        let r = t.path().join(format!("run{i}"));
        let child = Command::new(BIN)
            .args([
                "sample",
                "builtin:iris",
                p(&model),
                "--columns",
                "petal_length",
            ])
            .args([
                "--warmup",
                "300",
                "--draws",
                "200000",
                "--quiet",
                "--out",
                p(&r),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let pid = child.id().to_string();
        let term = || Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(term().success());
        std::thread::sleep(Duration::from_millis(gap_ms));
        let _ = term();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{stderr}");
        if r.exists() {
            assert!(!stderr.contains("quitting without writing"), "{stderr}");
            one_run(&r);
        }
        assert!(temporaries(t.path()).is_empty(), "{:?}", names(t.path()));
    }
}

/// The crash-consistency loop: `sample --out R` and `simulate --out S` killed (SIGKILL) at 200
/// random moments; after each kill the reader finds R and S whole (the last run that finished),
/// never a mix, and the next write clears the dead process's temporaries.
#[cfg(unix)]
#[test]
fn killed_at_random_moments_every_reader_finds_a_whole_run() {
    let t = TempDir::new().unwrap();
    let (r, s) = (t.path().join("R"), t.path().join("S"));
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/models/tutorial.toml");
    let sim = |seed: &str| -> Vec<String> {
        ["simulate", p(&model), "-n", "50000", "--seed", seed]
            .iter()
            .map(|x| x.to_string())
            .chain(["--with-assignments", "--out", p(&s)].map(String::from))
            .collect()
    };
    ok(&sample_args(p(&r), "2", "0"));
    ok(&sim("0").iter().map(String::as_str).collect::<Vec<_>>());
    // how long an unkilled run of each takes (the median of five)
    let time = |args: &[String]| {
        let mut times: Vec<Duration> = (0..5)
            .map(|_| {
                let t0 = Instant::now();
                let st = Command::new(BIN)
                    .args(args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .unwrap();
                assert!(st.success());
                t0.elapsed()
            })
            .collect();
        times.sort();
        times[2]
    };
    let sample_owned = |c: &str, seed: &str| -> Vec<String> {
        sample_args(p(&r), c, seed)
            .iter()
            .map(|x| x.to_string())
            .collect()
    };
    let t_sample = time(&sample_owned("3", "1"));
    let t_sim = time(&sim("1"));
    // a small, fixed generator: the moments are the same on every run of the test
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut killed, mut finished) = (0, 0);
    for i in 0..200u32 {
        let seed = (100 + i).to_string();
        let (args, span) = if i % 2 == 0 {
            (
                sample_owned(if i % 4 == 0 { "2" } else { "3" }, &seed),
                t_sample,
            )
        } else {
            (sim(&seed), t_sim)
        };
        let mut child = Command::new(BIN)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(span.mul_f64(uniform()));
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.success() {
            finished += 1;
        } else {
            killed += 1;
        }
        if i % 2 == 0 {
            one_run(&r);
            let (draws, chains) = draws_seen(&r);
            assert_eq!(draws, 20 * chains as u64);
        } else {
            let m: Value =
                serde_json::from_str(&fs::read_to_string(s.join("manifest.json")).unwrap())
                    .unwrap();
            for (name, e) in m["files"].as_object().unwrap() {
                let len = fs::metadata(s.join(name)).unwrap().len();
                assert_eq!(e["bytes"].as_u64().unwrap(), len, "{name} after kill {i}");
            }
            let truth: Value =
                serde_json::from_str(&fs::read_to_string(s.join("truth.json")).unwrap()).unwrap();
            let z = fs::read_to_string(s.join("assignments.csv")).unwrap();
            assert_eq!(z.lines().count() as u64, truth["n"].as_u64().unwrap() + 1);
        }
    }
    eprintln!("{killed} runs killed, {finished} finished before the kill");
    // most kills land mid-run on an idle machine (153 of 200 measured); under load the
    // timed span is less telling (98 seen with two builds beside it), so the floor only makes
    // sure that the loop kills many runs at all
    assert!(killed >= 50, "{killed} killed of 200");
    // one more write of each clears what the killed ones left
    ok(&sample_args(p(&r), "2", "7"));
    ok(&sim("7").iter().map(String::as_str).collect::<Vec<_>>());
    assert!(temporaries(t.path()).is_empty(), "{:?}", names(t.path()));
    assert_eq!(names(t.path()), ["R", "S"]);
}

/// Ctrl-C or SIGTERM while a simulation's large data file is being written, or during a fit:
/// exit 130, nothing half-written in place, no temporary left (before, a 286 MB
/// `.data.csv.tmp-PID-0` stayed).
#[cfg(unix)]
#[test]
fn a_signal_while_writing_leaves_no_temporary() {
    let t = TempDir::new().unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/models/tutorial.toml");
    for (i, (signal, wait_ms)) in [("-INT", 0u64), ("-TERM", 20), ("-INT", 100)]
        .into_iter()
        .enumerate()
    {
        let s = t.path().join(format!("sim{i}"));
        let mut child = Command::new(BIN)
            .args(["simulate", p(&model), "-n", "3000000", "--with-assignments"])
            .args(["--out", p(&s)])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // once the staging directory exists, the data are being written
        let t0 = Instant::now();
        while temporaries(t.path()).is_empty() && child.try_wait().unwrap().is_none() {
            assert!(t0.elapsed() < Duration::from_secs(60));
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(wait_ms));
        let pid = child.id().to_string();
        let _ = Command::new("kill").args([signal, &pid]).status();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            // it finished first: a whole simulation
            assert!(s.join("manifest.json").exists());
        } else {
            assert_eq!(out.status.code(), Some(130), "{stderr}");
            assert!(
                stderr.contains("interrupted: quitting without writing"),
                "{stderr}"
            );
            assert!(!s.exists());
        }
        assert!(temporaries(t.path()).is_empty(), "{:?}", names(t.path()));
    }
    // a fit: nothing written, nothing left
    let f = t.path().join("fit");
    let child = Command::new(BIN)
        .args([
            "fit",
            "builtin:wine",
            "-k",
            "6",
            "--restarts",
            "100000",
            "--out",
            p(&f),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(!f.exists() && temporaries(t.path()).is_empty());
}

/// `bgmm simulate … | head -1`: the reader goes away; bgmm ends quietly with SIGPIPE's code
/// (before: a panic, "failed printing to stdout: Broken pipe", and exit code 101).
#[test]
fn a_closed_stdout_ends_quietly() {
    use std::io::Read;
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/models/tutorial.toml");
    let mut child = Command::new(BIN)
        .args(["simulate", p(&model), "-n", "2000000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // the pipe's reading end is closed here
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

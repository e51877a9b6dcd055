//! Interrupted runs: Ctrl-C during `bgmm sample` keeps the draws so far, written atomically and
//! marked incomplete, exit code 130, and later commands read the run; stopped before warmup
//! ends, nothing is written. A run killed outright leaves no truncated output behind.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_bgmm");

fn iris_model() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/models/iris.toml")
        .to_str()
        .unwrap()
        .to_string()
}

struct Ended {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Start `bgmm sample` with `args`, send SIGINT after `wait`, and collect what it printed.
fn interrupt_after(args: &[&str], wait: Duration) -> Ended {
    let child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run bgmm");
    std::thread::sleep(wait);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("cannot run kill");
    assert!(status.success());
    let t0 = Instant::now();
    let out = child.wait_with_output().unwrap();
    // one draw per chain at most after the signal, then the writing
    assert!(t0.elapsed() < Duration::from_secs(60));
    let ended = Ended {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!ended.stderr.contains("panicked"), "{}", ended.stderr);
    ended
}

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or("")
}

#[test]
fn ctrl_c_during_sampling_keeps_the_draws_so_far_marked_incomplete() {
    let tmp = TempDir::new().unwrap();
    let run = tmp.path().join("run");
    let run_s = run.to_str().unwrap();
    let model = iris_model();
    let args = [
        "sample",
        "builtin:iris",
        "--columns",
        "petal_length",
        &model,
        "--chains",
        "2",
        "--warmup",
        "50",
        "--draws",
        "50000000",
        "--seed",
        "4",
        "--quiet",
        "--out",
        run_s,
    ];
    // a slow machine may still be in warmup at the first signal: then nothing is kept, and
    // the test waits longer
    let mut ended = None;
    for wait in [1.5, 5.0, 15.0] {
        let e = interrupt_after(&args, Duration::from_secs_f64(wait));
        assert_eq!(e.code, Some(130), "{}", e.stderr);
        if !e.stderr.contains("nothing to keep") {
            ended = Some(e);
            break;
        }
    }
    let e = ended.expect("still in warmup after 15 s");
    let line = last_line(&e.stderr);
    assert!(
        line.starts_with("error: interrupted: sampling stopped early: ")
            && line.contains("of 50000000 draws per chain kept")
            && line.contains("marked incomplete"),
        "{line}"
    );
    assert!(e
        .stderr
        .contains("warning: INCOMPLETE: sampling was stopped early"));
    // the summary still prints, for the draws kept
    assert!(e.stdout.contains("locs[0]"), "{}", e.stdout);

    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["complete"], false);
    let kept = summary["interrupted"]["kept_draws"].as_u64().unwrap() as usize;
    assert_eq!(summary["interrupted"]["asked_draws"], 50_000_000u64);
    assert!(kept >= 4, "{kept}");
    assert!(summary["warnings"][0]
        .as_str()
        .unwrap()
        .starts_with("INCOMPLETE"));
    // both chains cut to the same length, each CSV complete and marked
    for c in 0..2 {
        for prefix in ["chain", "raw-chain"] {
            let text = std::fs::read_to_string(run.join(format!("{prefix}-{c}.csv"))).unwrap();
            assert!(text.contains(&format!(
                "# INCOMPLETE: sampling was stopped early; {kept} of 50000000 draws kept"
            )));
            let rows: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
            assert_eq!(rows.len(), 1 + kept, "{prefix}-{c}.csv");
            let width = rows[0].split(',').count();
            assert!(rows.iter().all(|r| r.split(',').count() == width));
            assert!(text.ends_with('\n'));
        }
    }
    // nothing else in the directory (no temporary file left behind)
    let mut names: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "chain-0.csv",
            "chain-1.csv",
            "log-lik.npy",
            "manifest.json",
            "raw-chain-0.csv",
            "raw-chain-1.csv",
            "summary.json"
        ]
    );
    // the posterior is iris's all the same: the small component's location near 1.46
    let loc0 = summary["summary"]["locs[0]"]["mean"].as_f64().unwrap();
    assert!((loc0 - 1.462).abs() < 0.05, "{loc0}");

    // later commands read the incomplete run
    let out = Command::new(BIN)
        .args(["predict", run_s, "--max-draws", "5", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sets"], 5);
}

#[test]
fn ctrl_c_during_warmup_writes_nothing() {
    let tmp = TempDir::new().unwrap();
    let run = tmp.path().join("run");
    let model = iris_model();
    let e = interrupt_after(
        &[
            "sample",
            "builtin:iris",
            "--columns",
            "petal_length",
            &model,
            "--chains",
            "2",
            "--warmup",
            "100000000",
            "--draws",
            "10",
            "--quiet",
            "--out",
            run.to_str().unwrap(),
        ],
        Duration::from_millis(800),
    );
    assert_eq!(e.code, Some(130), "{}", e.stderr);
    let line = last_line(&e.stderr);
    assert!(
        line.starts_with("error: interrupted: sampling stopped at iteration ")
            && line.ends_with("(100000000 warmup): fewer than 4 draws after warmup in every chain, nothing to keep; nothing written"),
        "{line}"
    );
    assert!(e.stdout.is_empty(), "{}", e.stdout);
    assert!(!run.exists());
}

#[test]
fn a_killed_run_leaves_no_truncated_file() {
    // `simulate` streams a large .npy into a staging directory next to --out; SIGKILL in the
    // middle leaves that staging directory at most, never a data.npy that a later command
    // would read, and the next write into the same place removes it
    let model = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/models/tutorial.toml")
        .to_str()
        .unwrap()
        .to_string();
    for n in ["50000000", "200000000"] {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path().join("sim");
        let mut child = Command::new(BIN)
            .args([
                "simulate",
                &model,
                "-n",
                n,
                "--format",
                "npy",
                "--out",
                dir.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // wait until the data are being written in the staging directory, then kill
        let t0 = Instant::now();
        let temp = loop {
            let found = std::fs::read_dir(tmp.path()).ok().and_then(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .find(|f| {
                        f.starts_with(".sim.bgmm-stage-")
                            && tmp.path().join(f).join("data.npy").exists()
                    })
            });
            if found.is_some() || t0.elapsed() > Duration::from_secs(20) {
                break found;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        child.kill().unwrap();
        let status = child.wait().unwrap();
        if status.success() {
            continue; // finished before the kill: try a larger file
        }
        let Some(temp) = temp else {
            panic!("no staging directory seen");
        };
        assert!(!dir.join("data.npy").exists(), "a data.npy was left");
        // a later command says the file is not there, rather than reading half of it
        let out = Command::new(BIN)
            .args(["fit", dir.join("data.npy").to_str().unwrap(), &model])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("error: ") && err.contains("data.npy"),
            "{err}"
        );
        assert!(tmp.path().join(&temp).exists());
        let st = Command::new(BIN)
            .args([
                "simulate",
                &model,
                "-n",
                "10",
                "--out",
                dir.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(st.status.success());
        assert!(!tmp.path().join(&temp).exists(), "the stale {temp} stayed");
        return;
    }
    panic!("simulate finished before it could be killed, even for 2e8 points");
}

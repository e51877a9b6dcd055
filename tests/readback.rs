//! Everything bgmm writes, bgmm reads back: every output kind of every command, with hostile
//! column names (a comma, a quote, a line break, a tab, non-ASCII text, names that look like
//! numbers, names bgmm gives its own columns) and values from 1e-250 to 1e250, is read by the
//! reader that consumes it (classify, predict, plot and report on run directories, fit on
//! data), and the values come back bit for bit. Both CSV readers are checked: the in-memory one
//! and the streaming one of large files.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_bgmm");

/// Run the binary, require success; returns stdout.
fn ok(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("panicked"),
        "bgmm {args:?} failed ({:?}):\n{stderr}",
        out.status.code()
    );
    String::from_utf8(out.stdout).unwrap()
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// An RFC 4180 field, written here independently of bgmm's writer.
fn field(name: &str) -> String {
    if name.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_string()
    }
}

/// The names a hostile user gives columns. bgmm trims spaces around names (as it trims cells),
/// so names are given here as bgmm holds them.
fn hostile_names() -> Vec<String> {
    [
        "a,b",
        "say \"hi\"",
        "line\nbreak",
        "tab\tΩμέγα 測定",
        "1e5",
        "assignment",
        "p0",
        "z",
        "set",
    ]
    .map(String::from)
    .to_vec()
}

/// Two clusters in `names.len()` columns, every value with 17 significant digits, times `f`.
fn columns(d: usize, n: usize, f: f64) -> Vec<Vec<f64>> {
    (0..d)
        .map(|j| {
            (0..n)
                .map(|i| {
                    let c = if i % 2 == 0 { 0.0 } else { 6.0 + j as f64 };
                    let u = ((i * 7919 + j * 104_729) % 1000) as f64 / 1000.0 - 0.5;
                    (c + u * (1.0 + 0.1 * j as f64) + 1.0 / 3.0) * f
                })
                .collect()
        })
        .collect()
}

fn write_csv(path: &Path, names: &[String], cols: &[Vec<f64>]) {
    let mut t: String = names.iter().map(|n| field(n)).collect::<Vec<_>>().join(",");
    t.push('\n');
    for i in 0..cols[0].len() {
        let row: Vec<String> = cols.iter().map(|c| format!("{:?}", c[i])).collect();
        t.push_str(&row.join(","));
        t.push('\n');
    }
    std::fs::write(path, t).unwrap();
}

/// A CSV as both of bgmm's readers read it (every numeric column): names and columns, which
/// must agree.
fn read_back(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let bytes = std::fs::read(path).unwrap();
    let t = bgmm_io::parse_csv(&s(path), &bytes, None)
        .unwrap_or_else(|e| panic!("the in-memory reader cannot read {}: {e}", path.display()));
    let src = bgmm_io::Source::open(path, None)
        .unwrap_or_else(|e| panic!("the streaming reader cannot open {}: {e}", path.display()));
    let data = src
        .load_all()
        .unwrap_or_else(|e| panic!("the streaming reader cannot read {}: {e}", path.display()));
    assert_eq!(src.names, t.names, "{}: the readers' names", path.display());
    let streamed: Vec<Vec<f64>> = (0..data.d()).map(|j| data.col(j).to_vec()).collect();
    assert_eq!(
        streamed,
        t.columns,
        "{}: the readers' values",
        path.display()
    );
    (t.names, t.columns)
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// fit, classify, predict, sample, vi, plot and report on data with hostile names at scale
/// `f`: every file written is read back, names and values intact.
fn round_trip(f: f64) {
    let tmp = TempDir::new().unwrap();
    let dir = |n: &str| -> PathBuf { tmp.path().join(n) };
    let names = hostile_names();
    let d = names.len();
    let cols = columns(d, 40, f);
    let data = dir("data.csv");
    write_csv(&data, &names, &cols);
    assert_eq!(read_back(&data), (names.clone(), cols.clone()));

    // fit: fit.json names the columns; classify reads them back from it
    ok(&[
        "fit",
        &s(&data),
        "-k",
        "2",
        "--restarts",
        "8",
        "--out",
        &s(&dir("fit")),
    ]);
    let fit = json(&dir("fit/fit.json"));
    assert_eq!(strings(&fit["data"]["columns"]), names);

    // classify: assignments.csv has the data, the assignment and the probabilities, under
    // names that are not the data's
    ok(&[
        "classify",
        &s(&dir("fit")),
        &s(&data),
        "--out",
        &s(&dir("cl")),
    ]);
    let cl = json(&dir("cl/classify.json"));
    assert_eq!(strings(&cl["data"]["columns"]), names);
    let (got, values) = read_back(&dir("cl/assignments.csv"));
    let mut want = names.clone();
    want.extend(["_assignment", "_p0", "p1"].map(String::from));
    assert_eq!(got, want);
    assert_eq!(values[..d], cols[..], "the data in assignments.csv");
    let z: Vec<f64> = cl["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(values[d], z, "the assignments in assignments.csv");
    for c in 0..2 {
        let p: Vec<f64> = cl["probs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[c].as_f64().unwrap())
            .collect();
        assert_eq!(values[d + 1 + c], p, "p{c} in assignments.csv");
    }
    // predict from the fit: predictive.csv with `set` and `z` columns of their own
    ok(&[
        "predict",
        &s(&dir("fit")),
        "-n",
        "7",
        "--out",
        &s(&dir("pred")),
    ]);
    let (got, values) = read_back(&dir("pred/predictive.csv"));
    let mut want = vec!["_set".to_string()];
    want.extend(names.iter().cloned());
    want.push("_z".into());
    assert_eq!(got, want);
    let pj = json(&dir("pred/predictive.json"));
    assert_eq!(strings(&pj["columns"]), names);
    let sets = pj["sets"].as_u64().unwrap() as usize;
    assert_eq!(values[0].len(), 7 * sets);
    for (j, col) in values[1..=d].iter().enumerate() {
        let mean = col.iter().sum::<f64>() / col.len() as f64;
        let recorded = pj["summary"][j]["mean"].as_f64().unwrap();
        assert!(
            (mean - recorded).abs() <= 1e-9 * recorded.abs().max(f.abs()),
            "column {j}: predictive.csv mean {mean:e}, predictive.json {recorded:e}"
        );
    }

    // a sampling run and a VI run: read by classify, predict, plot and report (at unit scale:
    // the posterior engines work in the data's units, see the report on extreme scales)
    let engines = if f == 1.0 { 2 } else { 0 };
    for (cmd, extra) in [
        (
            "sample",
            vec![
                "--from-fit",
                "FIT",
                "--chains",
                "1",
                "--warmup",
                "40",
                "--draws",
                "20",
                "--quiet",
            ],
        ),
        ("vi", vec!["--steps", "200", "--draws", "20"]),
    ]
    .into_iter()
    .take(engines)
    {
        let run = dir(cmd);
        let fit_dir = s(&dir("fit"));
        let data_s = s(&data);
        let mut args = vec![cmd, data_s.as_str(), "-k", "2"];
        args.extend(
            extra
                .iter()
                .map(|a| if *a == "FIT" { fit_dir.as_str() } else { a }),
        );
        let run_s = s(&run);
        args.extend(["--out", &run_s]);
        ok(&args);
        let summary = json(&run.join("summary.json"));
        assert_eq!(strings(&summary["data"]["columns"]), names, "{cmd}");
        let out = s(&run.join("cl"));
        ok(&["classify", &run_s, &s(&data), "--out", &out]);
        let (got, values) = read_back(&run.join("cl/assignments.csv"));
        assert_eq!(got[..d], names[..], "{cmd}");
        assert_eq!(values[..d], cols[..], "{cmd}");
        let out = s(&run.join("pred"));
        ok(&[
            "predict",
            &run_s,
            "-n",
            "3",
            "--max-draws",
            "5",
            "--out",
            &out,
        ]);
        let (got, _) = read_back(&run.join("pred/predictive.csv"));
        assert_eq!(got[1..=d], names[..], "{cmd}");
        ok(&["plot", &run_s, "--format", "svg"]);
        ok(&["report", &run_s]);
        assert!(run.join("report.html").is_file());
    }
    ok(&["report", &s(&dir("fit"))]);

    // no record holds a bare null where a number belongs: every JSON reads back whole
    for sub in ["fit", "cl", "pred", "sample", "vi"] {
        let Ok(files) = std::fs::read_dir(dir(sub)) else {
            continue;
        };
        for e in files {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|e| e == "json") {
                json(&p);
            }
        }
    }
}

#[test]
fn every_output_reads_back_with_hostile_names() {
    round_trip(1.0);
}

#[test]
fn every_output_reads_back_at_extreme_scales() {
    round_trip(1e250);
    round_trip(1e-250);
}

/// simulate's data.csv, assignments.csv and its stdout CSV are data bgmm fits, value for value.
#[test]
fn simulated_data_read_back() {
    let tmp = TempDir::new().unwrap();
    let model = s(&PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/models/homework-2d-component.toml"));
    let out = tmp.path().join("sim");
    ok(&[
        "simulate",
        &model,
        "-n",
        "50",
        "--seed",
        "4",
        "--out",
        &s(&out),
    ]);
    let js: Value = serde_json::from_str(&ok(&[
        "simulate", &model, "-n", "50", "--seed", "4", "--json",
    ]))
    .unwrap();
    let (names, cols) = read_back(&out.join("data.csv"));
    assert_eq!(names, strings(&js["columns"]));
    for (i, row) in js["data"].as_array().unwrap().iter().enumerate() {
        for (j, v) in row.as_array().unwrap().iter().enumerate() {
            assert_eq!(cols[j][i], v.as_f64().unwrap());
        }
    }
    let (z_name, z) = read_back(&out.join("assignments.csv"));
    assert_eq!(z_name, ["z"]);
    let zj: Vec<f64> = js["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(z[0], zj);
    let stdout = ok(&[
        "simulate",
        &model,
        "-n",
        "50",
        "--seed",
        "4",
        "--with-assignments",
    ]);
    let p = tmp.path().join("stdout.csv");
    std::fs::write(&p, stdout).unwrap();
    let (names, cols2) = read_back(&p);
    assert_eq!(names, ["x0", "x1", "z"]);
    assert_eq!(cols2[..2], cols[..]);
    let fit = ok(&[
        "fit",
        &s(&out.join("data.csv")),
        "-k",
        "3",
        "--restarts",
        "8",
        "--json",
    ]);
    let fit: Value = serde_json::from_str(&fit).unwrap();
    assert_eq!(fit["data"]["n"], 50);
    assert_eq!(strings(&fit["data"]["columns"]), ["x0", "x1"]);
}

/// Issue 13: a fit under an exponential prior of rate 1e300 on the scales wrote `null` into
/// fit.json's history (a gradient norm whose squares overflowed), and no command could read the
/// fit. Now every number in it is a number, and classify, predict and report read it.
#[test]
fn a_fit_under_an_extreme_prior_reads_back() {
    let tmp = TempDir::new().unwrap();
    let model = tmp.path().join("exp.toml");
    std::fs::write(
        &model,
        "k = 2\nd = 1\n[weights]\nconcentration = 1.0\n[locs]\nloc = 0.0\nscale = 10.0\n\
         [scale]\nsharing = \"component\"\nprior = \"exponential\"\nrate = 1e300\n",
    )
    .unwrap();
    let fit = tmp.path().join("fit");
    ok(&["fit", "builtin:tutorial", &s(&model), "--out", &s(&fit)]);
    let text = std::fs::read_to_string(fit.join("fit.json")).unwrap();
    assert!(!text.contains("null"), "fit.json holds null");
    let v: Value = serde_json::from_str(&text).unwrap();
    let norms = v["history"]["grad_norm"]["scale"].as_array().unwrap();
    assert!(!norms.is_empty());
    assert!(
        norms.iter().all(|n| n.as_f64().is_some_and(f64::is_finite)),
        "{norms:?}"
    );
    let out = ok(&["classify", &s(&fit), "builtin:tutorial", "--json"]);
    let cl: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cl["assignments"].as_array().unwrap().len(), 5);
    ok(&[
        "predict",
        &s(&fit),
        "-n",
        "4",
        "--out",
        &s(&tmp.path().join("pred")),
    ]);
    ok(&["report", &s(&fit)]);
}

/// Data too large for the default model (10 standard deviations overflow a float) are refused
/// with one line naming the data and the column, not `-k`; 1e300 still fits.
#[test]
fn data_beyond_the_default_model_are_blamed_not_k() {
    let tmp = TempDir::new().unwrap();
    let names = vec!["tiny".to_string(), "huge".to_string()];
    let mut cols = columns(2, 30, 1.0);
    cols[0] = cols[0].iter().map(|x| x * 1e-300).collect();
    cols[1] = cols[1].iter().map(|x| x * 1e307).collect();
    let data = tmp.path().join("d.csv");
    write_csv(&data, &names, &cols);
    let out = Command::new(BIN)
        .args(["fit", &s(&data), "-k", "2"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "error: data '{}', column 2: values up to",
            s(&data)
        )) && !err.contains("-k"),
        "{err}"
    );
    // likewise with missing values in the column (the spread of its observed values)
    let mut text = std::fs::read_to_string(&data).unwrap();
    let first_row = text.find('\n').unwrap() + 1;
    let comma = first_row + text[first_row..].find(',').unwrap();
    let end = first_row + text[first_row..].find('\n').unwrap();
    text.replace_range(comma + 1..end, "NA");
    let holes = tmp.path().join("holes.csv");
    std::fs::write(&holes, text).unwrap();
    let out = Command::new(BIN)
        .args(["fit", &s(&holes), "-k", "2"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(&format!(
            "error: data '{}', column 2: values up to",
            s(&holes)
        )) && !err.contains("-k"),
        "{err}"
    );
    cols[1] = cols[1].iter().map(|x| x * 1e-7).collect();
    write_csv(&data, &names, &cols);
    ok(&[
        "fit",
        &s(&data),
        "-k",
        "2",
        "--restarts",
        "8",
        "--columns",
        "huge",
    ]);
}

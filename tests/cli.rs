//! End-to-end tests of the `bgmm` binary: every bad input is one `error: …` line on stderr
//! with exit code 2 (and no output file), and the seeds' numbers come out of the binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_bgmm");

// ---------------------------------------------------------------------------------------------
// helpers

/// What a run of the binary produced.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    args: Vec<String>,
}

impl Run {
    fn show(&self) -> String {
        format!(
            "bgmm {:?}\nexit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args,
            self.code,
            truncate(&self.stdout),
            truncate(&self.stderr)
        )
    }
}

fn truncate(s: &str) -> String {
    if s.len() > 3000 {
        let mut cut = 3000;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}…[{} bytes]", &s[..cut], s.len())
    } else {
        s.to_string()
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Path of a model file in examples/models.
fn model(name: &str) -> String {
    path_str(&root().join("examples/models").join(name))
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("UTF-8 path").to_string()
}

/// Run the binary with `args` and extra environment variables.
fn bgmm_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    // backtraces would make a panic's stderr longer, never shorter: keep the default
    let out = cmd.output().expect("cannot run the bgmm binary");
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        args: args.iter().map(|s| s.to_string()).collect(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "the binary panicked:\n{}",
        run.show()
    );
    run
}

fn bgmm(args: &[&str]) -> Run {
    bgmm_env(args, &[])
}

/// Run and require success.
fn ok(args: &[&str]) -> Run {
    let r = bgmm(args);
    assert_eq!(r.code, Some(0), "expected success:\n{}", r.show());
    r
}

/// Run, require success, parse stdout as JSON.
fn json(args: &[&str]) -> Value {
    let r = ok(args);
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", r.show()))
}

/// Require the failure contract: exit code 2, empty stdout, stderr exactly one line
/// `error: …` containing every one of `parts`. Returns that line.
fn check_failure(r: &Run, parts: &[&str]) -> String {
    assert_eq!(r.code, Some(2), "expected exit code 2:\n{}", r.show());
    assert!(r.stdout.is_empty(), "stdout not empty:\n{}", r.show());
    assert!(
        r.stderr.ends_with('\n') && r.stderr.matches('\n').count() == 1,
        "stderr is not exactly one line:\n{}",
        r.show()
    );
    let line = r.stderr.trim_end_matches('\n').to_string();
    assert!(
        line.starts_with("error: "),
        "stderr does not start with 'error: ':\n{}",
        r.show()
    );
    assert!(!line.contains('\r'), "carriage return in: {line:?}");
    for p in parts {
        assert!(
            line.contains(p),
            "error line does not mention {p:?}:\n{line}\n{}",
            r.show()
        );
    }
    line
}

/// Expect a one-line failure (exit 2) mentioning `parts`.
fn fails(args: &[&str], parts: &[&str]) -> String {
    check_failure(&bgmm(args), parts)
}

/// As [`fails`], with `--out DIR` added: DIR must not exist afterwards, or be empty
/// (no output file, no half-written temporary file).
fn fails_out(args: &[&str], parts: &[&str]) -> String {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    let out_s = path_str(&out);
    let mut all: Vec<&str> = args.to_vec();
    all.push("--out");
    all.push(&out_s);
    let line = check_failure(&bgmm(&all), parts);
    if out.exists() {
        let names: Vec<String> = out
            .read_dir()
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.is_empty(),
            "bgmm {all:?} failed but left files in --out: {names:?}"
        );
    }
    line
}

/// Write a file into `dir`; returns its path.
fn write(dir: &TempDir, name: &str, contents: &[u8]) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, contents).unwrap();
    path_str(&p)
}

/// The tutorial model's TOML with one line replaced (the replacement must happen).
fn tutorial_with(from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(model("tutorial.toml")).unwrap();
    assert!(
        text.lines().any(|l| l == from),
        "tutorial.toml has no line {from:?}"
    );
    text.lines()
        .map(|l| if l == from { to } else { l })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Write the tutorial model with one line replaced.
fn tutorial_file(dir: &TempDir, name: &str, from: &str, to: &str) -> String {
    write(dir, name, tutorial_with(from, to).as_bytes())
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or_else(|| panic!("not a number: {x}")))
        .collect()
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(f64s)
        .collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_u64().unwrap_or_else(|| panic!("not an index: {x}")) as usize)
        .collect()
}

/// `got` equals `want` to 3 decimals (|Δ| ≤ half a unit in the third decimal).
fn assert3(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 5e-4 + 1e-12,
        "{what}: got {got}, want {want} to 3 decimals"
    );
}

/// Indices of `v` sorted by value.
fn order(v: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].partial_cmp(&v[b]).unwrap());
    idx
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for pos in 0..=p.len() {
            let mut q = p.clone();
            q.insert(pos, n - 1);
            out.push(q);
        }
    }
    out
}

fn tutorial_fit_dir(tmp: &TempDir) -> String {
    let dir = path_str(&tmp.path().join("fit-tut"));
    ok(&[
        "fit",
        "builtin:tutorial",
        &model("tutorial.toml"),
        "--out",
        &dir,
    ]);
    assert!(Path::new(&dir).join("fit.json").is_file());
    dir
}

// ---------------------------------------------------------------------------------------------
// A. bad input: one line `error: …`, exit code 2, nothing on stdout, no output file

#[test]
fn missing_data_file() {
    let tmp = TempDir::new().unwrap();
    let p = path_str(&tmp.path().join("nope.csv"));
    fails_out(&["fit", &p, "-k", "2"], &["data file", "nope.csv"]);
    let fit = tutorial_fit_dir(&tmp);
    fails_out(&["classify", &fit, &p], &["data file", "nope.csv"]);
}

#[test]
fn empty_data_file() {
    let tmp = TempDir::new().unwrap();
    let p = write(&tmp, "empty.csv", b"");
    fails_out(&["fit", &p, "-k", "2"], &["empty.csv", "empty"]);
    let p = write(&tmp, "blank.csv", b"\n  \n");
    fails_out(&["fit", &p, "-k", "2"], &["blank.csv", "empty"]);
}

#[test]
fn header_only_data_file() {
    let tmp = TempDir::new().unwrap();
    let p = write(&tmp, "hdr.csv", b"x,y\n");
    fails_out(&["fit", &p, "-k", "2"], &["hdr.csv", "no data rows"]);
}

#[test]
fn no_numeric_column() {
    let tmp = TempDir::new().unwrap();
    let p = write(&tmp, "txt.csv", b"a,b\nx,y\nz,w\n");
    fails_out(
        &["fit", &p, "-k", "2"],
        &["txt.csv", "no numeric column", "a, b"],
    );
}

#[test]
fn unknown_column_in_columns() {
    fails_out(
        &[
            "fit",
            "builtin:iris",
            "--columns",
            "petal_length,nope",
            "-k",
            "2",
        ],
        &["builtin:iris", "'nope'", "--columns", "petal_length"],
    );
    let tmp = TempDir::new().unwrap();
    let p = write(&tmp, "d.csv", b"x,y\n1,2\n3,4\n5,6\n");
    fails_out(
        &["fit", &p, "--columns", "z", "-k", "1"],
        &["d.csv", "'z'", "--columns"],
    );
}

/// Two overlapping clusters in 2-D, complete.
const TWO_D: &str = "x,y\n-0.8,0.3\n0.5,-1.1\n1.2,0.9\n-0.4,0.2\n0.9,1.4\n2.1,2.5\n3.6,3.1\n2.8,4.2\n4.1,2.7\n3.3,3.6\n";

/// A diagonal-covariance fit (K = 2) of [`TWO_D`]: its directory and its fit.json.
fn two_d_fit(tmp: &TempDir) -> (String, Value) {
    let data = write(tmp, "two_d.csv", TWO_D.as_bytes());
    let dir = path_str(&tmp.path().join("fit2d"));
    ok(&[
        "fit",
        &data,
        "-k",
        "2",
        "--covariance",
        "diagonal",
        "--out",
        &dir,
    ]);
    let text = std::fs::read_to_string(Path::new(&dir).join("fit.json")).unwrap();
    (dir, serde_json::from_str(&text).unwrap())
}

/// The assignment probabilities of a point under a diagonal fit, by hand: the mixture of the
/// marginal densities of its observed coordinates (a missing one, NaN, left out of the
/// product).
fn marginal_probs(fit: &Value, point: &[f64]) -> Vec<f64> {
    let w = f64s(&fit["params"]["weights"]);
    let locs = matrix(&fit["params"]["locs"]);
    let scales = matrix(&fit["params"]["scale"]);
    let logp: Vec<f64> = (0..w.len())
        .map(|k| {
            let mut l = w[k].ln();
            for (j, x) in point.iter().enumerate().filter(|(_, x)| !x.is_nan()) {
                let z = (x - locs[k][j]) / scales[k][j];
                l += -0.5 * z * z - scales[k][j].ln() - 0.5 * (2.0 * std::f64::consts::PI).ln();
            }
            l
        })
        .collect();
    let m = logp.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = logp.iter().map(|l| (l - m).exp()).sum();
    logp.iter().map(|l| (l - m).exp() / sum).collect()
}

/// `probs` against `want` within 1e-9.
fn same_probs(what: &str, probs: &Value, want: &[f64]) {
    let got = f64s(probs);
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{what}: {got:?}, by hand {want:?}");
    }
}

/// Issue 14: a missing cell is read at its row and column (it was refused), also in the first
/// data row (before the column is known to be numeric), and classified by the marginal
/// density of the row's observed values.
#[test]
fn missing_value_names_row_and_column() {
    let tmp = TempDir::new().unwrap();
    let (fit, f) = two_d_fit(&tmp);
    // header = row 1, so the empty cell is in row 3
    let p = write(&tmp, "miss.csv", b"x,y\n1,2\n1.4,\n5,6\n");
    for extra in [&[][..], &["--columns", "x,y"][..]] {
        let v = json(&[&["classify", &fit, &p, "--json"][..], extra].concat());
        assert_eq!(v["data"]["missing"], serde_json::json!([0, 1]));
        assert_eq!(v["data"]["n"], 3);
        same_probs(
            "row 3",
            &v["probs"][1],
            &marginal_probs(&f, &[1.4, f64::NAN]),
        );
        same_probs("row 2", &v["probs"][0], &marginal_probs(&f, &[1.0, 2.0]));
    }
    // the test can fail: filling the missing y with 0 gives other probabilities
    let filled = marginal_probs(&f, &[1.4, 0.0]);
    let marginal = marginal_probs(&f, &[1.4, f64::NAN]);
    assert!(
        (filled[0] - marginal[0]).abs() > 0.05,
        "{filled:?} {marginal:?}"
    );
    // empty in the first data row, before the column is known to be numeric
    let p = write(&tmp, "miss1.csv", b"x,y\n,1.5\n2,3\n4,5\n");
    let v = json(&["classify", &fit, &p, "--json"]);
    assert_eq!(v["data"]["missing"], serde_json::json!([1, 0]));
    same_probs(
        "row 2",
        &v["probs"][0],
        &marginal_probs(&f, &[f64::NAN, 1.5]),
    );
    // a row with nothing observed: the weights
    let p = write(&tmp, "miss2.csv", b"x,y\nNA,NA\n2,3\n");
    let v = json(&["classify", &fit, &p, "--json"]);
    same_probs("row 2", &v["probs"][0], &f64s(&f["params"]["weights"]));
}

/// What R, pandas, numpy and others write for a missing value, read as one by both CSV
/// readers (the streaming one forced by a size limit of 1 byte).
#[test]
fn every_missing_marker_in_both_csv_readers() {
    let tmp = TempDir::new().unwrap();
    let (fit, f) = two_d_fit(&tmp);
    let want = marginal_probs(&f, &[f64::NAN, 1.5]);
    for m in [
        "", "NA", "na", "N/A", "NaN", "nan", "-nan", "NAN", "null", "NULL", "\"\"", "\"NA\"",
    ] {
        let p = write(
            &tmp,
            "m.csv",
            format!("x,y\n{m},1.5\n2,{m}\n3,4\n").as_bytes(),
        );
        for env in [&[][..], &[("BGMM_STREAM_CSV_BYTES", "1")][..]] {
            let r = bgmm_env(&["classify", &fit, &p, "--json"], env);
            assert_eq!(r.code, Some(0), "{m:?}: {}", r.show());
            let v: Value = serde_json::from_str(&r.stdout).unwrap();
            assert_eq!(
                v["data"]["missing"],
                serde_json::json!([1, 1]),
                "{m:?} {env:?}"
            );
            same_probs(&format!("{m:?} {env:?}"), &v["probs"][0], &want);
        }
    }
}

/// A column of missing values only (or in the header only) is an error naming it, with both
/// CSV readers; --columns leaves it out.
#[test]
fn column_with_no_value() {
    let tmp = TempDir::new().unwrap();
    let p = write(&tmp, "nv.csv", b"x,y\n1,\n2,NA\n3,nan\n");
    let h = write(&tmp, "hdr.csv", b"x,y,z\n1,,2\n3,,4\n");
    for env in [&[][..], &[("BGMM_STREAM_CSV_BYTES", "1")][..]] {
        let r = bgmm_env(&["fit", &p, "-k", "1"], env);
        check_failure(
            &r,
            &["nv.csv", "column 'y' has no value (all 3 of its cells are missing); leave it out with --columns"],
        );
        let r = bgmm_env(&["fit", &p, "-k", "1", "--columns", "x,y"], env);
        check_failure(&r, &["nv.csv", "column 'y' has no value"]);
        let r = bgmm_env(&["fit", &h, "-k", "1"], env);
        check_failure(
            &r,
            &[
                "hdr.csv",
                "column 'y' has no value (all 2 of its cells are missing)",
            ],
        );
        let r = bgmm_env(&["fit", &h, "-k", "1", "--columns", "x,z", "--json"], env);
        assert_eq!(r.code, Some(0), "{}", r.show());
    }
}

/// A fit of data with missing values: its data line and fit.json say how many per column,
/// and its log likelihood is that of the observed values (the diagonal family's marginal,
/// computed by hand at the fit's parameters); the minibatch fit counts them too.
#[test]
fn fit_with_missing_values_counts_them_and_uses_the_observed_values() {
    let tmp = TempDir::new().unwrap();
    let holes = TWO_D
        .replace("\n0.5,-1.1\n", "\n0.5,\n")
        .replace("\n-0.4,0.2\n", "\nNA,0.2\n")
        .replace("\n3.6,3.1\n", "\n3.6,NaN\n");
    let p = write(&tmp, "holes.csv", holes.as_bytes());
    let args = ["fit", &p, "-k", "2", "--covariance", "diagonal"];
    let text = ok(&args).stdout;
    let line = text.lines().next().unwrap();
    assert!(
        line.starts_with(&format!(
            "MAP fit of {p} (10 points, 2 dimensions: x, y; 3 missing values: x 1, y 2) with"
        )),
        "{line}"
    );
    let v = json(&[&args[..], &["--json"]].concat());
    assert_eq!(v["data"]["missing"], serde_json::json!([1, 2]));
    assert_eq!(v["data"]["n"], 10);
    // Σ_n log Σ_k w_k Π_{j observed} N(x_nj | μ_kj, σ_kj), by hand
    let w = f64s(&v["params"]["weights"]);
    let (locs, scales) = (matrix(&v["params"]["locs"]), matrix(&v["params"]["scale"]));
    let rows: Vec<Vec<f64>> = holes
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|c| c.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    let loglik: f64 = rows
        .iter()
        .map(|x| {
            let p: f64 = (0..2)
                .map(|k| {
                    let mut d = w[k];
                    for j in (0..2).filter(|&j| !x[j].is_nan()) {
                        let z = (x[j] - locs[k][j]) / scales[k][j];
                        d *= (-0.5 * z * z).exp()
                            / (scales[k][j] * (2.0 * std::f64::consts::PI).sqrt());
                    }
                    d
                })
                .sum();
            p.ln()
        })
        .sum();
    let got = v["loglik"].as_f64().unwrap();
    assert!(
        (got - loglik).abs() < 1e-9 * loglik.abs(),
        "{got} against {loglik}"
    );
    // dropping the three incomplete rows is another fit
    let dropped = json(&[&args[..], &["--json", "--drop-missing"]].concat());
    assert_eq!(dropped["data"]["n"], 7);
    assert_ne!(dropped["loss"], v["loss"]);
    // on minibatches: the last pass counts them
    let mb = [
        "fit",
        &p,
        "-k",
        "2",
        "--minibatch",
        "4",
        "--sgd-steps",
        "20",
    ];
    let text = ok(&mb).stdout;
    assert!(
        text.starts_with(&format!(
            "Minibatch MAP of {p} (10 rows, 2 columns: x, y; 3 missing values: x 1, y 2) with"
        )),
        "{text}"
    );
    let v = json(&[&mb[..], &["--json"]].concat());
    assert_eq!(v["data"]["missing"], serde_json::json!([1, 2]));
    // VI on minibatches reads part of the file: a pass counts them for its record
    let v = json(&[
        "vi",
        &p,
        "-k",
        "2",
        "--minibatch",
        "4",
        "--steps",
        "20",
        "--json",
    ]);
    assert_eq!(v["data"]["missing"], serde_json::json!([1, 2]));
}

/// --drop-missing: the incomplete rows dropped and how many said on stderr (one line); the fit
/// equals the fit of the file without them.
#[test]
fn drop_missing_drops_incomplete_rows() {
    let tmp = TempDir::new().unwrap();
    let full = write(&tmp, "full.csv", TWO_D.as_bytes());
    // TWO_D with three incomplete rows among its rows
    let mut lines: Vec<&str> = TWO_D.lines().collect();
    lines.insert(2, "7,");
    lines.insert(5, "NA,2");
    lines.push(",");
    let holes = write(&tmp, "holes.csv", (lines.join("\n") + "\n").as_bytes());
    let said = format!(
        "--drop-missing: dropped 3 of the 13 rows of '{holes}', those with a missing value\n"
    );
    let r = ok(&["fit", &holes, "-k", "2", "--drop-missing", "--json"]);
    assert_eq!(r.stderr, said);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let want = json(&["fit", &full, "-k", "2", "--json"]);
    assert_eq!(v["loss"], want["loss"]);
    assert_eq!(v["params"], want["params"]);
    assert_eq!(v["data"]["n"], 10);
    assert_eq!(v["data"]["missing"], serde_json::json!([0, 0]));
    let (fit, _) = two_d_fit(&tmp);
    let r = ok(&["classify", &fit, &holes, "--drop-missing", "--json"]);
    assert_eq!(r.stderr, said);
    let c: Value = serde_json::from_str(&r.stdout).unwrap();
    let without = json(&["classify", &fit, &full, "--json"]);
    assert_eq!(c["probs"], without["probs"]);
    assert_eq!(c["data"]["drop_missing"], true);
    // the record says so: its data are read again without those rows (a report, 10 points)
    let out = path_str(&tmp.path().join("cls"));
    ok(&["classify", &fit, &holes, "--drop-missing", "--out", &out]);
    ok(&["report", &out]);
    let page = std::fs::read_to_string(Path::new(&out).join("report.html")).unwrap();
    assert!(
        page.contains("10 points"),
        "the report does not say 10 points"
    );
    // every row incomplete: nothing is left
    let none = write(&tmp, "none.csv", b"x,y\n1,\n,2\n");
    for cmd in ["sample", "vi", "fit"] {
        fails_out(
            &[cmd, &none, "-k", "1", "--drop-missing"],
            &[
                "none.csv",
                "--drop-missing",
                "every one of the 2 points has a missing value",
            ],
        );
    }
    // --minibatch takes the missing values as they are
    for cmd in ["fit", "vi"] {
        fails_out(
            &[cmd, &holes, "-k", "2", "--minibatch", "4", "--drop-missing"],
            &["--drop-missing does not go with --minibatch"],
        );
    }
}

#[test]
fn non_numeric_cell() {
    let tmp = TempDir::new().unwrap();
    let p = write(&tmp, "nn.csv", b"x,y\n1,2\n3,abc\n5,6\n");
    fails_out(
        &["fit", &p, "-k", "2"],
        &["nn.csv", "row 3", "column 'y'", "'abc'"],
    );
    let p = write(&tmp, "nn2.csv", b"x\r\n1\r\n2\r\n3\r\nabc\r\n");
    fails_out(
        &["fit", &p, "-k", "2"],
        &["nn2.csv", "row 5", "column 'x'", "'abc'"],
    );
}

#[test]
fn non_finite_cells() {
    let tmp = TempDir::new().unwrap();
    // NaN is a missing value (issue 14); infinities stay errors
    for v in ["inf", "-inf", "1e400", "-1e400", "Infinity"] {
        let p = write(&tmp, "v.csv", format!("x,y\n1,2\n3,{v}\n5,6\n").as_bytes());
        let quoted = format!("'{v}'");
        fails_out(
            &["fit", &p, "-k", "2"],
            &["v.csv", "row 3", "column 'y'", &quoted, "not finite"],
        );
        fails_out(
            &["fit", &p, "--columns", "y", "-k", "2"],
            &["v.csv", "row 3", "column 'y'", &quoted, "not finite"],
        );
        // first data row: the column is not yet known to be numeric
        let p = write(&tmp, "w.csv", format!("x\n{v}\n1\n2\n").as_bytes());
        fails_out(
            &["fit", &p, "-k", "2"],
            &["w.csv", "row 2", "column 'x'", &quoted, "not finite"],
        );
    }
}

#[test]
fn ragged_row() {
    let tmp = TempDir::new().unwrap();
    let p = write(&tmp, "rag.csv", b"x,y\n1,2\n3\n5,6\n");
    fails_out(
        &["fit", &p, "-k", "2"],
        &["rag.csv", "row 3", "expected 2 fields, found 1"],
    );
    let p = write(&tmp, "rag2.csv", b"x,y\n1,2\n3,4,5\n");
    fails_out(
        &["fit", &p, "-k", "1"],
        &["rag2.csv", "row 3", "expected 2 fields, found 3"],
    );
}

#[test]
fn fewer_points_than_components() {
    let tmp = TempDir::new().unwrap();
    let p = write(&tmp, "two.csv", b"x\n1\n2\n");
    fails_out(
        &["fit", &p, "-k", "3"],
        &["two.csv", "fewer points (2)", "k = 3"],
    );
    // numpyro.toml: k = 3, d = 1
    fails_out(
        &["fit", &p, &model("numpyro.toml")],
        &["two.csv", "numpyro.toml", "fewer points (2)", "k = 3"],
    );
    fails_out(
        &["fit", "builtin:tutorial", "-k", "6"],
        &["builtin:tutorial", "fewer points (5)", "k = 6"],
    );
}

#[test]
fn k_zero() {
    let tmp = TempDir::new().unwrap();
    let m = tutorial_file(&tmp, "k0.toml", "k = 2", "k = 0");
    fails_out(
        &["fit", "builtin:tutorial", &m],
        &["k0.toml", "'k' must be at least 1", "got 0"],
    );
    fails_out(&["simulate", &m], &["k0.toml", "'k'", "got 0"]);
    fails(&["describe", &m], &["k0.toml", "'k'", "got 0"]);
    let m = tutorial_file(&tmp, "kneg.toml", "k = 2", "k = -1");
    fails_out(
        &["fit", "builtin:tutorial", &m],
        &["kneg.toml", "'k'", "-1"],
    );
    fails_out(
        &["fit", "builtin:tutorial", "-k", "0"],
        &["-k", "at least 1", "got 0"],
    );
    fails_out(
        &["fit", "builtin:tutorial", "--components=-3"],
        &["-k", "got -3"],
    );
}

#[test]
fn dimension_mismatch_model_and_data() {
    // homework-2d-shared.toml has d = 2; the tutorial data have one column
    fails_out(
        &["fit", "builtin:tutorial", &model("homework-2d-shared.toml")],
        &[
            "homework-2d-shared.toml",
            "dimension mismatch",
            "d = 2",
            "1 column",
        ],
    );
    // and the other way round: d = 1 model, two columns
    fails_out(
        &[
            "fit",
            "builtin:iris",
            "--columns",
            "petal_length,petal_width",
            &model("iris.toml"),
        ],
        &["iris.toml", "dimension mismatch", "d = 1", "2 columns"],
    );
}

#[test]
fn dimension_mismatch_fit_and_data_in_classify() {
    let tmp = TempDir::new().unwrap();
    let fit = tutorial_fit_dir(&tmp);
    fails_out(
        &[
            "classify",
            &fit,
            "builtin:iris",
            "--columns",
            "sepal_length,sepal_width",
        ],
        &[
            "dimension mismatch",
            "fit-tut",
            "d = 1",
            "builtin:iris",
            "2 columns",
            "sepal_length, sepal_width",
        ],
    );
    // the fit's column 'x' is absent: every numeric column is used, two of them
    let p = write(&tmp, "ab.csv", b"a,b\n1,2\n3,4\n");
    fails_out(
        &["classify", &fit, &p],
        &["dimension mismatch", "d = 1", "ab.csv", "2 columns", "a, b"],
    );
    // a fit given as the JSON file rather than the directory
    let fit_json = path_str(&Path::new(&fit).join("fit.json"));
    fails_out(
        &["classify", &fit_json, &p],
        &["dimension mismatch", "fit.json", "2 columns"],
    );
}

#[test]
fn bad_prior_parameters() {
    let tmp = TempDir::new().unwrap();
    let cases = [
        (
            "ls0.toml",
            "scale = 10.0",
            "scale = 0.0",
            vec!["locs.scale", "positive", "got 0"],
        ),
        (
            "lsneg.toml",
            "scale = 10.0",
            "scale = -2.0",
            vec!["locs.scale", "positive", "got -2"],
        ),
        (
            "sig.toml",
            "sigma = 2.0",
            "sigma = -1.0",
            vec!["'sigma'", "positive", "got -1"],
        ),
        (
            "sig0.toml",
            "sigma = 2.0",
            "sigma = 0.0",
            vec!["'sigma'", "positive", "got 0"],
        ),
        (
            "conc.toml",
            "concentration = 0.5",
            "concentration = -0.5",
            vec!["weights.concentration", "positive", "got -0.5"],
        ),
        (
            "conc2.toml",
            "concentration = 0.5",
            "concentration = [0.5, -1.0]",
            vec!["weights.concentration[1]", "got -1"],
        ),
        (
            "conc0.toml",
            "concentration = 0.5",
            "concentration = 0.0",
            vec!["weights.concentration", "got 0"],
        ),
    ];
    for (name, from, to, parts) in cases {
        let m = tutorial_file(&tmp, name, from, to);
        let mut p = parts.clone();
        p.push(name);
        fails_out(&["fit", "builtin:tutorial", &m], &p);
        fails_out(&["simulate", &m, "-n", "5"], &p);
        fails(&["describe", &m], &p);
    }
}

#[test]
fn unknown_prior_name() {
    let tmp = TempDir::new().unwrap();
    let m = tutorial_file(
        &tmp,
        "prior.toml",
        "prior = \"lognormal\"",
        "prior = \"weibull\"",
    );
    fails_out(
        &["fit", "builtin:tutorial", &m],
        &["prior.toml", "unknown scale prior 'weibull'", "lognormal"],
    );
    fails(&["describe", &m], &["prior.toml", "'weibull'"]);
}

#[test]
fn unknown_sharing_name() {
    let tmp = TempDir::new().unwrap();
    let m = tutorial_file(
        &tmp,
        "shar.toml",
        "sharing = \"shared\"",
        "sharing = \"bogus\"",
    );
    fails_out(
        &["fit", "builtin:tutorial", &m],
        &["shar.toml", "sharing", "'bogus'"],
    );
    fails_out(&["simulate", &m], &["shar.toml", "'bogus'"]);
    fails_out(
        &["fit", "builtin:tutorial", "-k", "2", "--scale", "bogus"],
        &["--covariance", "'bogus'", "component"],
    );
}

#[test]
fn malformed_toml_names_line_and_column() {
    let tmp = TempDir::new().unwrap();
    // line 17 of tutorial.toml is `sigma = 2.0`; the second '=' is at column 9
    let m = tutorial_file(&tmp, "bad.toml", "sigma = 2.0", "sigma = = 2.0");
    let line_no = tutorial_with("sigma = 2.0", "sigma = = 2.0")
        .lines()
        .position(|l| l == "sigma = = 2.0")
        .unwrap()
        + 1;
    let at = format!("line {line_no}, column 9");
    fails_out(&["fit", "builtin:tutorial", &m], &["bad.toml", &at]);
    fails_out(&["simulate", &m], &["bad.toml", &at]);
    fails(&["describe", &m], &["bad.toml", &at]);
    // a type error: k on line 1, its value at column 5
    let text = format!(
        "k = \"two\"\n{}",
        tutorial_with("k = 2", "# k is on line 1")
    );
    let m = write(&tmp, "type.toml", text.as_bytes());
    fails_out(
        &["fit", "builtin:tutorial", &m],
        &["type.toml", "line 1, column 5"],
    );
    // an unknown key on a known line
    let m = write(&tmp, "key.toml", b"k = 2\nfoo = 1\n");
    fails_out(
        &["fit", "builtin:tutorial", &m],
        &["key.toml", "line 2, column 1", "foo"],
    );
}

#[test]
fn missing_model_file() {
    let tmp = TempDir::new().unwrap();
    let m = path_str(&tmp.path().join("nope.toml"));
    fails_out(
        &["fit", "builtin:tutorial", &m],
        &["model file", "nope.toml"],
    );
    fails_out(&["simulate", &m], &["model file", "nope.toml"]);
    fails(&["describe", &m], &["model file", "nope.toml"]);
    let e = write(&tmp, "empty.toml", b"");
    fails_out(&["fit", "builtin:tutorial", &e], &["empty.toml", "empty"]);
}

#[test]
fn missing_or_invalid_fit_file() {
    let tmp = TempDir::new().unwrap();
    let nope = path_str(&tmp.path().join("nope.json"));
    fails_out(
        &["classify", &nope, "builtin:tutorial"],
        &["fit", "nope.json"],
    );
    // a directory without fit.json
    let dir = tmp.path().join("empty-dir");
    std::fs::create_dir(&dir).unwrap();
    fails_out(
        &["classify", &path_str(&dir), "builtin:tutorial"],
        &["fit", "fit.json"],
    );
    // not JSON
    let nj = write(&tmp, "nj.json", b"not json\n");
    fails_out(
        &["classify", &nj, "builtin:tutorial"],
        &["nj.json", "not a bgmm fit", "line 1, column"],
    );
    // JSON, not a fit
    let nf = write(&tmp, "nf.json", b"{\"a\": 1}\n");
    fails_out(
        &["classify", &nf, "builtin:tutorial"],
        &["nf.json", "not a bgmm fit", "line 1, column"],
    );
    // a model file given as the fit
    fails_out(
        &["classify", &model("tutorial.toml"), "builtin:tutorial"],
        &["tutorial.toml", "not a bgmm fit"],
    );
    // a fit whose parameters were tampered with
    let fit = json(&["fit", "builtin:tutorial", &model("tutorial.toml"), "--json"]);
    let mut bad = fit.clone();
    bad["params"]["scale"] = serde_json::json!(-1.0);
    let p = write(&tmp, "neg.json", bad.to_string().as_bytes());
    fails_out(
        &["classify", &p, "builtin:tutorial"],
        &["neg.json", "scale"],
    );
    let mut bad = fit.clone();
    bad["params"]["weights"] = serde_json::json!([0.5, 0.6]);
    let p = write(&tmp, "w.json", bad.to_string().as_bytes());
    fails_out(
        &["classify", &p, "builtin:tutorial"],
        &["w.json", "weights"],
    );
    let mut bad = fit;
    bad["model"]["k"] = serde_json::json!(0);
    let p = write(&tmp, "k0.json", bad.to_string().as_bytes());
    fails_out(&["classify", &p, "builtin:tutorial"], &["k0.json", "'k'"]);
}

#[test]
fn unknown_init() {
    fails_out(
        &[
            "fit",
            "builtin:tutorial",
            &model("tutorial.toml"),
            "--init",
            "foo",
        ],
        &["--init", "'foo'", "pyro", "kmeans++"],
    );
}

#[test]
fn bad_betas() {
    for b in [
        "0.9",
        "0.9,1.0",
        "1.5,0.9",
        "-0.1,0.9",
        "a,b",
        "0.8,0.9,0.99",
        "nan,0.9",
    ] {
        let arg = format!("--betas={b}");
        let quoted = format!("'{b}'");
        fails_out(
            &["fit", "builtin:tutorial", &model("tutorial.toml"), &arg],
            &["--betas", &quoted],
        );
    }
}

#[test]
fn bad_temperature_and_method() {
    let tmp = TempDir::new().unwrap();
    let fit = tutorial_fit_dir(&tmp);
    fails_out(
        &["classify", &fit, "builtin:tutorial", "--temperature", "2"],
        &["--temperature", "got 2"],
    );
    fails_out(
        &["classify", &fit, "builtin:tutorial", "--method", "mcmc"],
        &["--method", "'mcmc'", "exact", "svi"],
    );
}

#[test]
fn model_file_and_k_both_or_neither() {
    fails_out(
        &[
            "fit",
            "builtin:tutorial",
            &model("tutorial.toml"),
            "-k",
            "2",
        ],
        &["model file", "-k", "not both"],
    );
    fails_out(&["fit", "builtin:tutorial"], &["no model", "-k"]);
    fails_out(
        &[
            "fit",
            "builtin:tutorial",
            &model("tutorial.toml"),
            "--scale",
            "shared",
        ],
        &["--covariance", "-k"],
    );
    fails_out(
        &["fit", "builtin:tutorial", "-k", "2", "--scale", "unknown"],
        &["--covariance", "'unknown'"],
    );
}

#[test]
fn malformed_grid_specs() {
    let cases: &[(&str, &str)] = &[
        ("grid:", "three numbers"),
        ("grid:1,2", "three numbers"),
        ("grid:1,2,3,4", "three numbers"),
        ("grid:a,2,0.1", "'a'"),
        ("grid:0,inf,1", "'inf'"),
        ("grid:0,nan,1", "'nan'"),
        ("grid:0,1,0", "STEP must be positive"),
        ("grid:0,1,-1", "STEP must be positive"),
        ("grid:2,1,0.1", "empty"),
        ("grid:1,1,0.1", "empty"),
        ("grid:0,1e9,1e-9", "more than"),
    ];
    let tmp = TempDir::new().unwrap();
    let fit = tutorial_fit_dir(&tmp);
    for (spec, why) in cases {
        let shown = format!("'{spec}'");
        fails_out(
            &["fit", spec, "-k", "1"],
            &[&shown, why, "grid:START,STOP,STEP"],
        );
        fails_out(&["classify", &fit, spec], &[&shown, why]);
    }
}

#[test]
fn simulate_n_zero() {
    fails_out(
        &["simulate", &model("tutorial.toml"), "-n", "0"],
        &["-n", "at least 1"],
    );
    fails_out(
        &["simulate", &model("tutorial.toml"), "-n", "0", "--json"],
        &["-n"],
    );
}

#[test]
fn unknown_builtin() {
    fails_out(
        &["fit", "builtin:nope", "-k", "2"],
        &["'builtin:nope'", "builtin:iris", "builtin:tutorial"],
    );
    let tmp = TempDir::new().unwrap();
    let fit = tutorial_fit_dir(&tmp);
    fails_out(&["classify", &fit, "builtin:nope"], &["'builtin:nope'"]);
}

#[test]
fn bad_fit_options() {
    let m = model("tutorial.toml");
    fails_out(
        &["fit", "builtin:tutorial", &m, "--restarts", "0"],
        &["--restarts"],
    );
    for lr in ["0", "-1", "nan", "inf"] {
        let arg = format!("--lr={lr}");
        fails_out(&["fit", "builtin:tutorial", &m, &arg], &["--lr"]);
    }
    fails_out(
        &["fit", "builtin:tutorial", &m, "--grad-tol=-1"],
        &["--grad-tol"],
    );
    fails_out(
        &["fit", "builtin:tutorial", &m, "--columns", "x,x"],
        &["--columns", "'x' twice"],
    );
}

// ---------------------------------------------------------------------------------------------
// A'. inputs so large that a vector of that size cannot exist: still one line, exit 2

#[test]
fn huge_k_flag_is_an_error() {
    fails_out(
        &["fit", "builtin:tutorial", "-k", "9223372036854775807"],
        &["9223372036854775807"],
    );
}

#[test]
fn huge_k_in_model_file_is_an_error() {
    let tmp = TempDir::new().unwrap();
    let m = tutorial_file(&tmp, "huge.toml", "k = 2", "k = 9223372036854775807");
    fails_out(&["fit", "builtin:tutorial", &m], &["huge.toml"]);
    fails_out(&["simulate", &m, "-n", "1"], &["huge.toml"]);
    // describe could print the shapes or refuse; it must not crash
    let r = bgmm(&["describe", &m]);
    if r.code != Some(0) {
        check_failure(&r, &["huge.toml"]);
    }
    let m = tutorial_file(&tmp, "huged.toml", "d = 1", "d = 9223372036854775807");
    let r = bgmm(&["describe", &m]);
    if r.code != Some(0) {
        check_failure(&r, &["huged.toml"]);
    }
}

#[test]
fn huge_k_in_fit_file_is_an_error() {
    let tmp = TempDir::new().unwrap();
    let mut fit = json(&["fit", "builtin:tutorial", &model("tutorial.toml"), "--json"]);
    fit["model"]["k"] = serde_json::json!(9223372036854775807_i64);
    let p = write(&tmp, "huge.json", fit.to_string().as_bytes());
    fails_out(&["classify", &p, "builtin:tutorial"], &["huge.json"]);
}

#[test]
fn huge_n_in_simulate_is_an_error() {
    fails_out(
        &[
            "simulate",
            &model("tutorial.toml"),
            "-n",
            "18446744073709551615",
        ],
        &["-n"],
    );
}

// ---------------------------------------------------------------------------------------------
// B. the seeds, end to end

#[test]
fn tutorial_fit_json() {
    let v = json(&["fit", "builtin:tutorial", &model("tutorial.toml"), "--json"]);
    let w = f64s(&v["params"]["weights"]);
    let locs = f64s(&v["params"]["locs"]);
    assert_eq!(w.len(), 2);
    assert_eq!(locs.len(), 2, "params.locs must be an array of K numbers");
    let scale = v["params"]["scale"]
        .as_f64()
        .expect("params.scale is one number (shared)");
    let o = order(&locs);
    assert3("weights[small]", w[o[0]], 0.375);
    assert3("weights[large]", w[o[1]], 0.625);
    assert3("locs[small]", locs[o[0]], 0.499);
    assert3("locs[large]", locs[o[1]], 10.984);
    assert3("scale", scale, 0.651);
    assert3("loss", v["loss"].as_f64().unwrap(), 17.443);
    assert_eq!(v["converged"], Value::Bool(true));
    assert!(
        v["best_restart"].is_u64(),
        "best_restart: {}",
        v["best_restart"]
    );
    let steps = v["steps"].as_u64().expect("steps") as usize;
    assert_eq!(steps, 200, "default --steps");
    assert_eq!(f64s(&v["history"]["loss"]).len(), steps);
    let gn = v["history"]["grad_norm"]
        .as_object()
        .expect("history.grad_norm");
    let mut keys: Vec<&str> = gn.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["locs", "scale", "weights"]);
    for (k, vals) in gn {
        assert_eq!(f64s(vals).len(), steps, "history.grad_norm.{k}");
    }
}

#[test]
fn tutorial_classify() {
    let tmp = TempDir::new().unwrap();
    let fit = tutorial_fit_dir(&tmp);

    let v = json(&["classify", &fit, "builtin:tutorial", "--json"]);
    let a = usizes(&v["assignments"]);
    assert!(
        a == [0, 0, 1, 1, 1] || a == [1, 1, 0, 0, 0],
        "assignments {a:?}"
    );
    let probs = matrix(&v["probs"]);
    assert_eq!(probs.len(), 5);
    for (i, row) in probs.iter().enumerate() {
        assert_eq!(row.len(), 2);
        let s: f64 = row.iter().sum();
        assert!((s - 1.0).abs() < 1e-12, "probs[{i}] sums to {s}");
        assert!(row.iter().all(|p| (0.0..=1.0).contains(p)));
        // MAP assignment is the most probable component
        assert!(row[a[i]] >= row[1 - a[i]]);
    }

    // the grid: numpy.arange(-3, 15, 0.1) has 180 points; one switch between 5.7 and 5.8
    let g = json(&["classify", &fit, "grid:-3,15,0.1", "--json"]);
    let a = usizes(&g["assignments"]);
    assert_eq!(a.len(), 180);
    assert_eq!(matrix(&g["probs"]).len(), 180);
    let switches: Vec<usize> = (0..a.len() - 1).filter(|&i| a[i] != a[i + 1]).collect();
    assert_eq!(switches.len(), 1, "assignments switch at {switches:?}");
    let i = switches[0];
    let (x0, x1) = (-3.0 + 0.1 * i as f64, -3.0 + 0.1 * (i + 1) as f64);
    assert!(
        (x0 - 5.7).abs() < 1e-9 && (x1 - 5.8).abs() < 1e-9,
        "switch between {x0} and {x1}"
    );

    // sampled assignments: the same seed gives the same output
    let args = [
        "classify",
        &fit,
        "grid:-3,15,0.1",
        "--temperature",
        "1",
        "--seed",
        "5",
        "--json",
    ];
    let r1 = ok(&args);
    let r2 = ok(&args);
    assert_eq!(r1.stdout, r2.stdout);
    let t: Value = serde_json::from_str(&r1.stdout).unwrap();
    assert_eq!(usizes(&t["assignments"]).len(), 180);
    assert_eq!(t["temperature"], serde_json::json!(1));
}

#[test]
fn tutorial_classify_svi_matches_exact() {
    let tmp = TempDir::new().unwrap();
    let fit = tutorial_fit_dir(&tmp);
    let exact = json(&["classify", &fit, "builtin:tutorial", "--json"]);
    let svi = json(&[
        "classify",
        &fit,
        "builtin:tutorial",
        "--method",
        "svi",
        "--json",
    ]);
    assert_eq!(svi["method"], "svi");
    assert_eq!(svi["assignments"], exact["assignments"]);
    let (pe, ps) = (matrix(&exact["probs"]), matrix(&svi["probs"]));
    for (i, (re, rs)) in pe.iter().zip(&ps).enumerate() {
        for (k, (e, s)) in re.iter().zip(rs).enumerate() {
            assert!((e - s).abs() < 1e-6, "probs[{i}][{k}]: svi {s}, exact {e}");
        }
    }
}

#[test]
fn tutorial_classify_svi_matches_exact_on_grid() {
    let tmp = TempDir::new().unwrap();
    let fit = tutorial_fit_dir(&tmp);
    let exact = json(&["classify", &fit, "grid:-3,15,0.1", "--json"]);
    let svi = json(&[
        "classify",
        &fit,
        "grid:-3,15,0.1",
        "--method",
        "svi",
        "--json",
    ]);
    let (pe, ps) = (matrix(&exact["probs"]), matrix(&svi["probs"]));
    assert_eq!(pe.len(), ps.len());
    for (i, (re, rs)) in pe.iter().zip(&ps).enumerate() {
        for (k, (e, s)) in re.iter().zip(rs).enumerate() {
            assert!(
                (e - s).abs() < 1e-6,
                "x = {:.1}, probs[{k}]: svi {s}, exact {e}",
                -3.0 + 0.1 * i as f64
            );
        }
    }
}

#[test]
fn iris_fit() {
    let v = json(&[
        "fit",
        "builtin:iris",
        "--columns",
        "petal_length",
        &model("iris.toml"),
        "--json",
    ]);
    let w = f64s(&v["params"]["weights"]);
    let mu = f64s(&v["params"]["locs"]);
    let sigma = f64s(&v["params"]["scale"]);
    assert_eq!((w.len(), mu.len(), sigma.len()), (2, 2, 2));
    // the large component first, as the blog prints it
    let o = order(&mu);
    let (big, small) = (o[1], o[0]);
    assert3("p[big]", w[big], 0.667);
    assert3("p[small]", w[small], 0.333);
    assert3("mu[big]", mu[big], 4.905);
    assert3("mu[small]", mu[small], 1.462);
    assert3("sigma[big]", sigma[big], 0.820);
    assert3("sigma[small]", sigma[small], 0.178);
    assert3("loss", v["loss"].as_f64().unwrap(), 210.206);
    assert_eq!(v["converged"], Value::Bool(true));
    assert_eq!(v["data"]["columns"], serde_json::json!(["petal_length"]));
    assert_eq!(v["data"]["n"], serde_json::json!(150));
}

/// fit.json's `loglik` and `n_params` for every sharing of the diagonal family: the number
/// of free parameters counted by hand (K − 1 weights, K·D locations, the scales as the
/// sharing has them), the log likelihood summed directly from the recorded parameters and
/// the data by a logsumexp per point.
#[test]
fn fit_json_has_the_log_likelihood_and_the_number_of_parameters() {
    let cols = ["sepal_length", "petal_length"];
    let (a, b) = (
        bgmm::datasets::iris_column(cols[0]).unwrap(),
        bgmm::datasets::iris_column(cols[1]).unwrap(),
    );
    let rows: Vec<[f64; 2]> = a.into_iter().zip(b).map(|(a, b)| [a, b]).collect();
    let (k, d) = (3usize, 2usize);
    for (sharing, n_scales) in [
        ("shared", 1),
        ("component", 3),
        ("dimension", 2),
        ("diagonal", 6),
    ] {
        let v = json(&[
            "fit",
            "builtin:iris",
            "--columns",
            &cols.join(","),
            "-k",
            "3",
            "--scale",
            sharing,
            "--restarts",
            "4",
            "--json",
        ]);
        assert_eq!(
            v["n_params"].as_u64(),
            Some((k - 1 + k * d + n_scales) as u64),
            "{sharing}"
        );
        let w = f64s(&v["params"]["weights"]);
        let locs = matrix(&v["params"]["locs"]);
        let sc = &v["params"]["scale"];
        let scale = |c: usize, j: usize| -> f64 {
            match sharing {
                "shared" => sc.as_f64().unwrap(),
                "component" => f64s(sc)[c],
                "dimension" => f64s(sc)[j],
                _ => matrix(sc)[c][j],
            }
        };
        let mut want = 0.0;
        for x in &rows {
            let terms: Vec<f64> = (0..k)
                .map(|c| {
                    w[c].ln()
                        + (0..d)
                            .map(|j| {
                                let z = (x[j] - locs[c][j]) / scale(c, j);
                                -0.5 * (2.0 * std::f64::consts::PI).ln()
                                    - scale(c, j).ln()
                                    - 0.5 * z * z
                            })
                            .sum::<f64>()
                })
                .collect();
            let m = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            want += m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln();
        }
        let got = v["loglik"].as_f64().unwrap();
        assert!(
            (got - want).abs() < 1e-9 * want.abs(),
            "{sharing}: loglik {got} vs {want}"
        );
    }
}

/// Simulate 1000 points from a homework model (seed 59), fit the model to them, and compare
/// the fitted locations with the true ones up to a relabelling of the components.
///
/// Tolerance: the MAP location of component k in dimension j is, to first order, the mean of
/// the n_k points assigned to it (the Normal(0, 4) prior is negligible against n_k ≥ ~50
/// points), so its error about the true location has standard deviation s_kj / √n_k, with s_kj
/// the true scale of that component / dimension and n_k the number of points whose true
/// assignment is k. Five such standard deviations is a bound a correct MAP essentially never
/// exceeds (two-sided p ≈ 6e-7 per coordinate), while a wrong mode (two components merged,
/// one split or emptied) misses by many.
fn homework_recovers_truth(name: &str, extra: &[&str]) {
    let tmp = TempDir::new().unwrap();
    let m = model(name);
    let dir = tmp.path().join("sim");
    let dir_s = path_str(&dir);
    ok(&[
        "simulate", &m, "-n", "1000", "--seed", "59", "--out", &dir_s,
    ]);
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
    let z: Vec<usize> = std::fs::read_to_string(dir.join("assignments.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(z.len(), 1000);
    let data = path_str(&dir.join("data.csv"));
    let mut args = vec!["fit", data.as_str(), m.as_str(), "--json"];
    args.extend_from_slice(extra);
    let fit = json(&args);

    let t_locs = matrix(&truth["params"]["locs"]);
    let f_locs = matrix(&fit["params"]["locs"]);
    let (k, d) = (t_locs.len(), t_locs[0].len());
    assert_eq!((k, d), (3, 2));
    assert_eq!(f_locs.len(), 3, "fitted locs shape [3][2]");
    assert!(
        f_locs.iter().all(|r| r.len() == 2),
        "fitted locs shape [3][2]"
    );

    let sharing = truth["model"]["scale"]["sharing"].as_str().unwrap();
    let s_true = |c: usize, j: usize| -> f64 {
        let s = &truth["params"]["scale"];
        match sharing {
            "shared" => s.as_f64().unwrap(),
            "component" => s[c].as_f64().unwrap(),
            "dimension" => s[j].as_f64().unwrap(),
            _ => s[c][j].as_f64().unwrap(),
        }
    };
    let n_k: Vec<usize> = (0..k)
        .map(|c| z.iter().filter(|&&x| x == c).count())
        .collect();
    assert!(
        n_k.iter().all(|&n| n > 0),
        "an empty true component: {n_k:?}"
    );
    let tol = |c: usize, j: usize| 5.0 * s_true(c, j) / (n_k[c] as f64).sqrt();

    // the relabelling that fits best (max error in units of the tolerance)
    let score = |p: &[usize]| -> f64 {
        (0..k)
            .flat_map(|c| (0..d).map(move |j| (c, j)))
            .map(|(c, j)| (f_locs[p[c]][j] - t_locs[c][j]).abs() / tol(c, j))
            .fold(0.0, f64::max)
    };
    let best = permutations(k)
        .into_iter()
        .min_by(|a, b| score(a).partial_cmp(&score(b)).unwrap())
        .unwrap();
    let mut report = String::new();
    let mut bad = false;
    for c in 0..k {
        for j in 0..d {
            let err = (f_locs[best[c]][j] - t_locs[c][j]).abs();
            report.push_str(&format!(
                "\n  component {c} (n = {}), dim {j}: true {:.4}, fitted {:.4}, |error| {err:.4}, tolerance {:.4}",
                n_k[c], t_locs[c][j], f_locs[best[c]][j], tol(c, j)
            ));
            bad |= err > tol(c, j);
        }
    }
    assert!(
        !bad,
        "{name}: fitted locations off the truth (fit loss {}, converged {}):{report}",
        fit["loss"], fit["converged"]
    );
}

#[test]
fn homework_2d_shared_recovers_truth() {
    homework_recovers_truth("homework-2d-shared.toml", &[]);
}

#[test]
fn homework_2d_component_recovers_truth() {
    homework_recovers_truth("homework-2d-component.toml", &[]);
}

#[test]
fn homework_2d_dimension_recovers_truth() {
    homework_recovers_truth("homework-2d-dimension.toml", &[]);
}

#[test]
fn homework_2d_kmeanspp_recovers_truth() {
    for name in [
        "homework-2d-shared.toml",
        "homework-2d-component.toml",
        "homework-2d-dimension.toml",
    ] {
        homework_recovers_truth(name, &["--init", "kmeans++"]);
    }
}

/// Issue 11: `fit DATA -k K` fitted a column of row numbers (1..N) as a data dimension
/// without a word.
#[test]
fn a_column_of_row_numbers_is_named_on_stderr() {
    let tmp = TempDir::new().unwrap();
    let sim = ok(&[
        "simulate",
        &model("homework-2d-shared.toml"),
        "-n",
        "60",
        "--seed",
        "5",
    ])
    .stdout;
    let mut csv = String::from("id,");
    for (i, line) in sim.lines().enumerate() {
        if i > 0 {
            csv.push_str(&format!("{i},"));
        }
        csv.push_str(line);
        csv.push('\n');
    }
    let data = write(&tmp, "with-id.csv", csv.as_bytes());
    let said = format!(
        "warning: column 'id' of '{data}' holds the integers 1..60 in row order, like a row \
         number, yet is used as a data column (no --columns given); to leave it out, give \
         --columns x0,x1\n"
    );
    let r = ok(&["fit", &data, "-k", "3", "--json"]);
    assert!(r.stderr.contains(&said), "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["data"]["columns"], serde_json::json!(["id", "x0", "x1"]));
    // a failure stays one line: the warning comes after success only
    fails(
        &["fit", &data, "-k", "61"],
        &["fewer points (60)", "k = 61"],
    );
    // with the columns given, no warning
    let r = ok(&["fit", &data, "-k", "3", "--columns", "x0,x1", "--json"]);
    assert!(!r.stderr.contains("row number"), "{}", r.stderr);
    // sample says it too
    let r = ok(&[
        "sample", &data, "-k", "3", "--chains", "1", "--warmup", "20", "--draws", "20", "--quiet",
    ]);
    assert!(r.stderr.contains(&said), "{}", r.stderr);
}

/// Issue 11: the classify table's header ran long column names together
/// (`sepal_lengthsepal_width…`, `bill_length_mmbill_depth_mm…`).
#[test]
fn the_classify_table_keeps_long_column_names_apart() {
    let tmp = TempDir::new().unwrap();
    let fit = path_str(&tmp.path().join("fit"));
    ok(&["fit", "builtin:iris", "-k", "3", "--out", &fit]);
    let csv = write(
        &tmp,
        "penguins.csv",
        b"bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n\
          39.1,18.7,181,3750\n46.5,17.9,192,3500\n50.0,15.2,218,5700\n",
    );
    let pfit = path_str(&tmp.path().join("pfit"));
    // three points for two components: one sits on a point, narrower than the resolution
    ok(&[
        "fit",
        &csv,
        "-k",
        "2",
        "--resolution",
        "off",
        "--out",
        &pfit,
    ]);
    for (fit, data, names) in [
        (
            &fit,
            "builtin:iris",
            vec!["sepal_length", "sepal_width", "petal_length", "petal_width"],
        ),
        (
            &pfit,
            csv.as_str(),
            vec![
                "bill_length_mm",
                "bill_depth_mm",
                "flipper_length_mm",
                "body_mass_g",
            ],
        ),
    ] {
        let out = ok(&["classify", fit, data]).stdout;
        let lines: Vec<&str> = out.lines().collect();
        let head = lines[1];
        let k = if data == "builtin:iris" { 3 } else { 2 };
        let mut want: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        want.push("assignment".into());
        want.extend((0..k).map(|c| format!("p{c}")));
        assert_eq!(head.split_whitespace().collect::<Vec<_>>(), want, "{out}");
        // each value ends where its name ends
        let ends = |l: &str| -> Vec<usize> {
            let b = l.as_bytes();
            (0..b.len())
                .filter(|&i| b[i] != b' ' && (i + 1 == b.len() || b[i + 1] == b' '))
                .collect()
        };
        assert_eq!(ends(lines[2]), ends(head), "{out}");
        assert_eq!(ends(lines[3]), ends(head), "{out}");
    }
}

/// Issue 11: the help omitted the .npy and Parquet inputs, and said of --restarts that "the
/// best one is optimised" while --candidates (10) are.
#[test]
fn the_help_names_every_input_and_what_restarts_do() {
    let top = ok(&["--help"]).stdout;
    for part in [
        ".npy file",
        "Parquet file (.parquet",
        "feature parquet",
        "grid:START,STOP,STEP",
    ] {
        assert!(top.contains(part), "{part}: {top}");
    }
    for cmd in ["fit", "sample", "vi"] {
        let h = ok(&[cmd, "--help"]).stdout;
        assert!(h.contains("a .npy file, a .parquet file"), "{cmd}: {h}");
    }
    let fit = ok(&["fit", "--help"]).stdout;
    assert!(
        fit.contains(
            "Initial points, screened by their loss; the --candidates best of them are optimised"
        ),
        "{fit}"
    );
    assert!(!fit.contains("the best one is optimised"), "{fit}");
}

#[test]
fn describe_shapes() {
    let v = json(&[
        "describe",
        &model("homework-2d-dimension.toml"),
        "-n",
        "11",
        "--json",
    ]);
    let sites = v["sites"].as_array().expect("sites");
    let names: Vec<&str> = sites.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["weights", "scale", "locs", "assignment", "obs"]);
    let shape = |name: &str| -> (Vec<usize>, Vec<usize>) {
        let s = sites.iter().find(|s| s["name"] == name).unwrap();
        (usizes(&s["batch_shape"]), usizes(&s["event_shape"]))
    };
    assert_eq!(shape("weights"), (vec![], vec![3]));
    assert_eq!(shape("scale"), (vec![2], vec![]));
    assert_eq!(shape("locs"), (vec![3, 2], vec![]));
    assert_eq!(shape("assignment"), (vec![11], vec![]));
    assert_eq!(shape("obs"), (vec![11], vec![2]));
    let obs = sites.iter().find(|s| s["name"] == "obs").unwrap();
    assert_eq!(obs["observed"], Value::Bool(true));
    // a scale per dimension is not indexed by the assignment
    assert_eq!(obs["dist"], "Normal(locs[assignment], scale).to_event(1)");
    let asg = sites.iter().find(|s| s["name"] == "assignment").unwrap();
    assert_eq!(asg["enumerated"], Value::Bool(true));
    // the table form works too
    let t = ok(&["describe", &model("homework-2d-dimension.toml"), "-n", "11"]);
    assert!(t.stdout.contains("obs") && t.stdout.contains("locs"));
    let by = |m: &str| {
        let t = ok(&["describe", &model(m)]).stdout;
        let obs = t
            .lines()
            .find(|l| l.starts_with("obs "))
            .unwrap()
            .to_string();
        obs.split("  ")
            .map(str::trim)
            .find(|c| c.starts_with("Normal"))
            .unwrap()
            .to_string()
    };
    assert_eq!(by("tutorial.toml"), "Normal(locs[assignment], scale)");
    assert_eq!(
        by("iris.toml"),
        "Normal(locs[assignment], scale[assignment])"
    );
    assert_eq!(
        by("homework-2d-shared.toml"),
        "Normal(locs[assignment], scale).to_event(1)"
    );
    assert_eq!(
        by("homework-2d-component.toml"),
        "Normal(locs[assignment], scale[assignment]).to_event(1)"
    );
}

#[test]
fn simulate_seeds() {
    let m = model("homework-2d-shared.toml");
    let a = ok(&["simulate", &m, "-n", "50", "--seed", "3"]);
    let b = ok(&["simulate", &m, "-n", "50", "--seed", "3"]);
    let c = ok(&["simulate", &m, "-n", "50", "--seed", "4"]);
    assert_eq!(a.stdout, b.stdout, "same seed, different output");
    assert_ne!(a.stdout, c.stdout, "different seeds, same output");
    let lines: Vec<&str> = a.stdout.lines().collect();
    assert_eq!(lines.len(), 51, "header and 50 rows");
    assert_eq!(lines[0], "x0,x1");

    let v = json(&["simulate", &m, "-n", "50", "--seed", "3", "--json"]);
    for key in ["weights", "locs", "scale"] {
        assert!(v["params"].get(key).is_some(), "params.{key}");
    }
    let z = usizes(&v["assignments"]);
    assert_eq!(z.len(), 50);
    assert!(z.iter().all(|&k| k < 3));
    let data = matrix(&v["data"]);
    assert_eq!(data.len(), 50);
    assert!(data.iter().all(|r| r.len() == 2));
    // the JSON's data are the CSV's data
    let first: Vec<f64> = lines[1].split(',').map(|x| x.parse().unwrap()).collect();
    assert_eq!(first, data[0]);
    // --with-assignments: the true z as a last column
    let w = ok(&[
        "simulate",
        &m,
        "-n",
        "50",
        "--seed",
        "3",
        "--with-assignments",
    ]);
    let wl: Vec<&str> = w.stdout.lines().collect();
    assert_eq!(wl[0], "x0,x1,z");
    for (i, l) in wl[1..].iter().enumerate() {
        assert_eq!(l.rsplit(',').next().unwrap(), z[i].to_string());
    }
}

#[test]
fn fit_is_identical_on_one_and_two_threads() {
    let tmp = TempDir::new().unwrap();
    let m = model("homework-2d-component.toml");
    let r = ok(&["simulate", &m, "-n", "5000", "--seed", "7"]);
    let data = write(&tmp, "big.csv", r.stdout.as_bytes());
    let args = ["fit", data.as_str(), m.as_str(), "--json"];
    let run = |threads: &str| -> Value {
        let r = bgmm_env(&args, &[("RAYON_NUM_THREADS", threads)]);
        assert_eq!(r.code, Some(0), "{}", r.show());
        let mut v: Value = serde_json::from_str(&r.stdout).unwrap();
        v.as_object_mut().unwrap().remove("command");
        v
    };
    let one = run("1");
    let two = run("2");
    assert_eq!(one["data"]["n"], serde_json::json!(5000));
    // byte-identical once re-serialised
    assert_eq!(
        serde_json::to_string(&one).unwrap(),
        serde_json::to_string(&two).unwrap()
    );
}

#[test]
fn default_model_from_k() {
    let args = [
        "fit",
        "builtin:iris",
        "--columns",
        "petal_length",
        "-k",
        "2",
        "--scale",
        "component",
        "--json",
    ];
    let a = json(&args);
    let b = json(&args);
    let (la, lb) = (a["loss"].as_f64().unwrap(), b["loss"].as_f64().unwrap());
    assert!((la - lb).abs() <= 1e-6, "two runs: loss {la} vs {lb}");
    assert_eq!(a["params"], b["params"], "two runs differ");
    assert_eq!(a["converged"], Value::Bool(true));
    // --scale component is the default sharing
    let c = json(&[
        "fit",
        "builtin:iris",
        "--columns",
        "petal_length",
        "-k",
        "2",
        "--json",
    ]);
    assert!((c["loss"].as_f64().unwrap() - la).abs() <= 1e-6);
    assert_eq!(c["model"], a["model"]);

    // the resolved default priors are recorded: Dirichlet(1), Normal(mean, 10·sd),
    // LogNormal(ln sd, 2) per component
    let text = std::fs::read_to_string(root().join("crates/bgmm/data/iris.csv")).unwrap();
    let mut lines = text.lines();
    let col = lines
        .next()
        .unwrap()
        .split(',')
        .position(|h| h == "petal_length")
        .unwrap();
    let x: Vec<f64> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').nth(col).unwrap().parse().unwrap())
        .collect();
    assert_eq!(x.len(), 150);
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let ss: f64 = x.iter().map(|v| (v - mean) * (v - mean)).sum();
    // the README says "sd"; accept the population (N) or the sample (N − 1) divisor
    let sds = [(ss / n).sqrt(), (ss / (n - 1.0)).sqrt()];

    let m = &a["model"];
    assert_eq!(m["k"], serde_json::json!(2));
    assert_eq!(m["d"], serde_json::json!(1));
    let num = |v: &Value| -> f64 {
        v.as_f64()
            .or_else(|| {
                v.as_array()
                    .filter(|a| a.len() == 1)
                    .and_then(|a| a[0].as_f64())
            })
            .unwrap_or_else(|| panic!("not one number: {v}"))
    };
    assert_eq!(num(&m["weights"]["concentration"]), 1.0);
    let loc = num(&m["locs"]["loc"]);
    assert!(
        (loc - mean).abs() < 1e-9,
        "locs.loc {loc}, data mean {mean}"
    );
    let loc_scale = num(&m["locs"]["scale"]);
    assert_eq!(m["scale"]["sharing"], "component");
    assert_eq!(m["scale"]["prior"], "lognormal");
    assert_eq!(num(&m["scale"]["sigma"]), 2.0);
    let mu = num(&m["scale"]["mu"]);
    let sd = sds
        .into_iter()
        .find(|s| (loc_scale - 10.0 * s).abs() < 1e-9)
        .unwrap_or_else(|| panic!("locs.scale {loc_scale} is not 10·sd, sd in {sds:?}"));
    assert!(
        (mu - sd.ln()).abs() < 1e-9,
        "scale.mu {mu}, ln sd {}",
        sd.ln()
    );

    // the recorded model is a model file: fitting with it gives the same loss
    let tmp = TempDir::new().unwrap();
    let spec: toml::Value = serde_json::from_value(m.clone()).unwrap();
    let mf = write(
        &tmp,
        "resolved.toml",
        toml::to_string(&spec).unwrap().as_bytes(),
    );
    let d = json(&[
        "fit",
        "builtin:iris",
        "--columns",
        "petal_length",
        &mf,
        "--json",
    ]);
    assert!((d["loss"].as_f64().unwrap() - la).abs() <= 1e-6);
}

#[test]
fn outputs_are_written() {
    let tmp = TempDir::new().unwrap();
    let fit = tutorial_fit_dir(&tmp);
    let out = tmp.path().join("cls");
    let out_s = path_str(&out);
    let r = ok(&["classify", &fit, "builtin:tutorial", "--out", &out_s]);
    assert!(r.stdout.contains("classify.json"));
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("classify.json")).unwrap()).unwrap();
    assert_eq!(usizes(&v["assignments"]).len(), 5);
    let csv = std::fs::read_to_string(out.join("assignments.csv")).unwrap();
    assert_eq!(csv.lines().count(), 6, "{csv}");
    let mut names: Vec<String> = out
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["assignments.csv", "classify.json", "manifest.json"],
        "no temporary files left"
    );
}

// ---------------------------------------------------------------------------------------------
// bgmm sample

#[test]
fn sample_bad_options() {
    let m = model("numpyro.toml");
    fails_out(
        &[
            "sample",
            "builtin:iris",
            "--columns",
            "petal_length",
            &m,
            "--chains",
            "0",
        ],
        &["--chains"],
    );
    fails_out(
        &[
            "sample",
            "builtin:iris",
            "--columns",
            "petal_length",
            &m,
            "--target-accept",
            "1.5",
        ],
        &["--target-accept"],
    );
    fails_out(
        &[
            "sample",
            "builtin:iris",
            "--columns",
            "petal_length",
            &m,
            "--init",
            "zero",
        ],
        &["--init", "zero"],
    );
    fails_out(
        &[
            "sample",
            "builtin:iris",
            "--columns",
            "petal_length",
            &m,
            "--max-depth",
            "0",
        ],
        &["--max-depth"],
    );
    fails_out(&["sample", "builtin:iris", &m], &["dimension mismatch"]);
}

#[test]
fn sample_writes_cmdstan_csv_and_a_summary_that_recovers_iris() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(&tmp.path().join("run"));
    let v = json(&[
        "sample",
        "builtin:iris",
        "--columns",
        "petal_length",
        &model("iris.toml"),
        "--chains",
        "2",
        "--warmup",
        "500",
        "--draws",
        "500",
        "--seed",
        "1",
        "--quiet",
        "--json",
        "--out",
        &out,
    ]);
    for key in [
        "summary",
        "divergences",
        "relabelled",
        "wall_s",
        "chains",
        "warnings",
    ] {
        assert!(v.get(key).is_some(), "no {key} in {v}");
    }
    let s = &v["summary"];
    for name in ["weights[0]", "locs[1]", "scale[1]"] {
        for k in [
            "mean", "sd", "median", "q5", "q95", "ess_bulk", "ess_tail", "r_hat",
        ] {
            assert!(s[name][k].is_number(), "{name}.{k} missing");
        }
    }
    // the posterior sits at the MAP's modes: locs near 4.905 and 1.462 (posterior sd ≈ 0.08, 0.025)
    let mut locs = [
        s["locs[0]"]["mean"].as_f64().unwrap(),
        s["locs[1]"]["mean"].as_f64().unwrap(),
    ];
    locs.sort_by(f64::total_cmp);
    assert!(
        (locs[0] - 1.462).abs() < 0.05 && (locs[1] - 4.905).abs() < 0.15,
        "{locs:?}"
    );
    let csv = std::fs::read_to_string(tmp.path().join("run/chain-1.csv")).unwrap();
    let header = csv.lines().find(|l| !l.starts_with('#')).unwrap();
    assert!(header.starts_with(
        "lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__,weights.1,weights.2,locs.1"
    ));
    assert_eq!(csv.lines().filter(|l| !l.starts_with('#')).count(), 501);
    let width = header.split(',').count();
    for row in csv.lines().filter(|l| !l.starts_with('#')).skip(1) {
        assert_eq!(row.split(',').count(), width, "row {row}");
        let accept: f64 = row.split(',').nth(1).unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&accept), "accept_stat__ {accept}");
    }
    assert!(tmp.path().join("run/summary.json").exists());
    assert!(tmp.path().join("run/raw-chain-0.csv").exists());
}

#[test]
fn predict_from_a_run_and_from_a_fit() {
    let tmp = TempDir::new().unwrap();
    let run = path_str(&tmp.path().join("run"));
    ok(&[
        "sample",
        "builtin:iris",
        "--columns",
        "petal_length",
        &model("iris.toml"),
        "--chains",
        "2",
        "--warmup",
        "300",
        "--draws",
        "200",
        "--seed",
        "2",
        "--quiet",
        "--out",
        &run,
    ]);
    let v = json(&[
        "predict",
        &run,
        "--json",
        "--seed",
        "1",
        "--max-draws",
        "all",
    ]);
    assert_eq!(v["sets"], 400);
    assert_eq!(
        (v["draws_used"].as_u64(), v["draws_total"].as_u64()),
        (Some(400), Some(400))
    );
    assert_eq!(v["n"], 150);
    // the predictive mean of petal length is close to the data's (3.758; posterior sd of the
    // mixture mean ≈ 0.14, plus the predictive noise of 60 000 points)
    let mean = v["summary"][0]["mean"].as_f64().unwrap();
    assert!((mean - 3.758).abs() < 0.3, "{mean}");
    assert_eq!(v["data_sets"][0]["data"].as_array().unwrap().len(), 150);
    // same seed, same sets
    let again = json(&[
        "predict",
        &run,
        "--json",
        "--seed",
        "1",
        "--max-draws",
        "all",
    ]);
    assert_eq!(v, again);
    // plug-in predictive from a MAP fit
    let fit = path_str(&tmp.path().join("fit"));
    ok(&[
        "fit",
        "builtin:tutorial",
        &model("tutorial.toml"),
        "--out",
        &fit,
    ]);
    let csv = ok(&["predict", &fit, "--sets", "3", "-n", "4"]).stdout;
    assert_eq!(csv.lines().count(), 1 + 12);
    assert!(csv.starts_with("set,x,z\n"));
    // written to a directory, the plain CSV gets its provenance beside it
    let out = tmp.path().join("pred");
    ok(&[
        "predict",
        &fit,
        "--sets",
        "3",
        "-n",
        "4",
        "--seed",
        "7",
        "--out",
        &path_str(&out),
    ]);
    let written = std::fs::read_to_string(out.join("predictive.csv")).unwrap();
    let printed = ok(&["predict", &fit, "--sets", "3", "-n", "4", "--seed", "7"]).stdout;
    assert_eq!(written, printed);
    let rec: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("predictive.json")).unwrap())
            .unwrap();
    assert_eq!(rec["bgmm_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(rec["seed"], 7);
    assert_eq!(rec["sets"], 3);
    assert_eq!(rec["n"], 4);
    assert_eq!(rec["model"]["k"], 2);
    assert_eq!(rec["kind"], "plug-in predictive at the MAP");
    assert_eq!(rec["source"], fit.as_str());
    let command = rec["command"].as_str().unwrap();
    assert!(
        command.contains("bgmm predict ") && command.contains("--seed 7"),
        "{command}"
    );
    fails(
        &["predict", &path_str(&tmp.path().join("none"))],
        &["cannot read fit"],
    );
    fails(&["predict", &run, "-n", "0"], &["-n must be at least 1"]);
}

/// Issue 11: `predict RUN` wrote a data set for every draw (514 MB for the NumPyro example)
/// and named the columns x0, x1, … whatever the data's names were.
#[test]
fn predict_caps_the_draws_and_names_the_columns_as_the_data() {
    let tmp = TempDir::new().unwrap();
    let run = path_str(&tmp.path().join("run"));
    let sampled = ok(&[
        "sample",
        "builtin:iris",
        "--columns",
        "petal_length,petal_width",
        "-k",
        "2",
        "--chains",
        "3",
        "--warmup",
        "100",
        "--draws",
        "150",
        "--quiet",
        "--out",
        &run,
    ]);
    // the summary says which column the parameters' index j is
    assert!(
        sampled
            .stdout
            .contains("\nj in locs[k,j] is the data's column: 0 = petal_length, 1 = petal_width\n"),
        "{}",
        sampled.stdout
    );
    // by default 100 of the 450 draws; the CSV on stdout, what was left out on stderr
    let r = ok(&["predict", &run, "-n", "2"]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "set,petal_length,petal_width,z");
    assert_eq!(lines.len(), 1 + 100 * 2);
    assert_eq!(lines.last().unwrap().split(',').next(), Some("99"));
    assert_eq!(
        r.stderr,
        "note: posterior predictive data sets from 100 of the run's 450 draws, evenly spaced \
         (--max-draws all for every draw)\n"
    );
    let v = json(&["predict", &run, "-n", "2", "--json"]);
    assert_eq!(
        (v["sets"].as_u64(), v["draws_total"].as_u64()),
        (Some(100), Some(450))
    );
    assert_eq!(
        v["columns"],
        serde_json::json!(["petal_length", "petal_width"])
    );
    assert_eq!(v["summary"][1]["column"], "petal_width");
    // every draw on request, and nothing on stderr then
    let all = ok(&["predict", &run, "-n", "2", "--max-draws", "all"]);
    assert_eq!(all.stdout.lines().count(), 1 + 450 * 2);
    assert_eq!(all.stderr, "");
    let few = json(&["predict", &run, "-n", "1", "--max-draws", "7", "--json"]);
    assert_eq!(
        (few["sets"].as_u64(), few["draws_used"].as_u64()),
        (Some(7), Some(7))
    );
    let out = tmp.path().join("pred");
    let r = ok(&["predict", &run, "-n", "2", "--out", &path_str(&out)]);
    assert!(
        r.stdout.starts_with(
            "posterior predictive: 100 data sets of 2 points, from 100 of the run's 450 draws, \
             evenly spaced (--max-draws all for every draw) → "
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("\n  petal_length: mean "), "{}", r.stdout);
    let rec: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("predictive.json")).unwrap())
            .unwrap();
    assert_eq!(
        (rec["draws_used"].as_u64(), rec["draws_total"].as_u64()),
        (Some(100), Some(450))
    );
    fails(
        &["predict", &run, "--max-draws", "some"],
        &["--max-draws", "'some'"],
    );
    // a fit's data sets are --sets, and keep the data's names; a data column named z or set
    // leaves the CSV's own columns another name
    let csv = write(
        &tmp,
        "xyz.csv",
        b"set,y,z\n1,2,3\n2,1,5\n3,3,1\n9,8,7\n8,9,9\n9,9,8\n",
    );
    let fit = path_str(&tmp.path().join("fit"));
    ok(&["fit", &csv, "-k", "2", "--out", &fit]);
    let p = ok(&["predict", &fit, "--sets", "2", "-n", "3"]);
    assert!(p.stdout.starts_with("_set,set,y,z,_z\n"), "{}", p.stdout);
    assert_eq!(p.stdout.lines().count(), 1 + 6);
    assert_eq!(p.stderr, "");
    fails(
        &["predict", &fit, "--max-draws", "5"],
        &["--max-draws", "is a fit", "--sets"],
    );
}

#[test]
fn vi_and_low_rank_nuts_agree_on_iris() {
    let tmp = TempDir::new().unwrap();
    let run = path_str(&tmp.path().join("vi"));
    let args = ["builtin:iris", "--columns", "petal_length"];
    let m = model("iris.toml");
    let vi = json(&[
        "vi", args[0], args[1], args[2], &m, "--steps", "3000", "--json", "--out", &run,
    ]);
    let nuts = json(&[
        "sample",
        args[0],
        args[1],
        args[2],
        &m,
        "--low-rank",
        "--quiet",
        "--json",
        "--seed",
        "4",
    ]);
    let sorted = |v: &Value| {
        let mut l = [
            v["summary"]["locs[0]"]["mean"].as_f64().unwrap(),
            v["summary"]["locs[1]"]["mean"].as_f64().unwrap(),
        ];
        l.sort_by(f64::total_cmp);
        l
    };
    let (a, b) = (sorted(&vi), sorted(&nuts));
    // posterior sds of the locations are about 0.025 and 0.08
    assert!(
        (a[0] - b[0]).abs() < 0.02 && (a[1] - b[1]).abs() < 0.05,
        "vi {a:?} vs nuts {b:?}"
    );
    assert_eq!(vi["options"]["method"], "vi");
    assert_eq!(nuts["options"]["low_rank"], true);
    // VI draws feed predict like NUTS draws do
    let p = json(&["predict", &run, "--json", "--max-draws", "10"]);
    assert_eq!(p["sets"], 10);
    fails_out(
        &["vi", args[0], args[1], args[2], &m, "--steps", "0"],
        &["--steps"],
    );
    fails_out(
        &["vi", args[0], args[1], args[2], &m, "--mc-samples", "0"],
        &["--mc-samples"],
    );
}

#[test]
fn classify_with_a_sampling_run_gives_posterior_assignment_probabilities() {
    let tmp = TempDir::new().unwrap();
    let run = path_str(&tmp.path().join("run"));
    let fit = path_str(&tmp.path().join("fit"));
    let m = model("tutorial.toml");
    ok(&[
        "sample",
        "builtin:tutorial",
        &m,
        "--chains",
        "2",
        "--warmup",
        "300",
        "--draws",
        "300",
        "--quiet",
        "--out",
        &run,
    ]);
    ok(&["fit", "builtin:tutorial", &m, "--out", &fit]);
    let post = json(&[
        "classify",
        &run,
        "grid:-3,15,0.5",
        "--json",
        "--temperature",
        "1",
        "--seed",
        "2",
    ]);
    let map = json(&["classify", &fit, "grid:-3,15,0.5", "--json"]);
    assert_eq!(post["method"], "posterior");
    assert_eq!(post["draws"], 600);
    let pp = matrix(&post["probs"]);
    let mp = matrix(&map["probs"]);
    assert_eq!(pp.len(), 36);
    // far from the boundary the posterior sides with the MAP classifier (up to labels); with
    // five points the posterior is wide (Pyro's NUTS: scale 1.07 ± 1.03), so it is less sure
    let flip = (pp[0][0] - mp[0][0]).abs() > 0.5;
    for i in [0usize, 1, 34, 35] {
        let m0 = if flip { mp[i][1] } else { mp[i][0] };
        let side = if m0 > 0.5 { pp[i][0] } else { pp[i][1] };
        assert!(
            side > 0.8,
            "x index {i}: posterior {:?} vs MAP {:?}",
            pp[i],
            mp[i]
        );
        assert!((pp[i].iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
    assert_eq!(post["sampled_assignments"].as_array().unwrap().len(), 600);
    fails(
        &["classify", &run, "builtin:tutorial", "--method", "svi"],
        &["--method svi"],
    );
}

/// Issue 11: `classify RUN_DIR DATA` took every numeric column of DATA, not the columns the
/// run was sampled on, and so refused data with an extra column.
#[test]
fn classify_with_a_sampling_run_takes_the_runs_columns() {
    let tmp = TempDir::new().unwrap();
    let run = path_str(&tmp.path().join("run"));
    ok(&[
        "sample",
        "builtin:iris",
        "--columns",
        "petal_length",
        &model("iris.toml"),
        "--chains",
        "1",
        "--warmup",
        "100",
        "--draws",
        "40",
        "--quiet",
        "--out",
        &run,
    ]);
    // iris has four columns; the run was sampled on one
    let all = json(&["classify", &run, "builtin:iris", "--json"]);
    assert_eq!(all["data"]["columns"], serde_json::json!(["petal_length"]));
    let picked = json(&[
        "classify",
        &run,
        "builtin:iris",
        "--columns",
        "petal_length",
        "--json",
    ]);
    assert_eq!(all["probs"], picked["probs"]);
    assert_eq!(usizes(&all["assignments"]).len(), 150);
    // a CSV with an extra column, before and after the run's
    let csv = write(
        &tmp,
        "extra.csv",
        b"extra,petal_length,more\n7,1.4,0.5\n8,4.5,0.5\n9,5.9,0.5\n",
    );
    let v = json(&["classify", &run, &csv, "--json"]);
    assert_eq!(v["data"]["columns"], serde_json::json!(["petal_length"]));
    let probs = matrix(&v["probs"]);
    let first = matrix(&all["probs"]);
    // petal length 1.4 is the first iris row's (setosa), and classified alike
    assert_eq!(probs[0], first[0]);
    // data without the run's column: every numeric column, and the mismatch named
    let other = write(&tmp, "other.csv", b"a,b\n1,2\n3,4\n");
    fails(
        &["classify", &run, &other],
        &["dimension mismatch", "d = 1", "2 columns (a, b)"],
    );
}

/// Issue 11: a run's warnings were one line per parameter and kind (up to 31), and a chain
/// that never moved (mean acceptance 0.075 in the report) went unnamed. A 50-draw warmup from
/// the prior leaves chain 3 of this run stuck (acceptance 0.000; the others 0.73–0.94).
#[test]
fn sampling_warnings_name_a_stuck_chain_and_group_the_parameters() {
    let r = ok(&[
        "sample",
        &path_str(&root().join("examples/data/numpyro_2500.csv")),
        &model("numpyro.toml"),
        "--warmup",
        "50",
        "--draws",
        "200",
        "--seed",
        "1",
        "--init",
        "prior",
        "--quiet",
    ]);
    assert!(
        r.stdout
            .contains("Mean acceptance: 0.940, 0.799, 0.733, 0.000."),
        "{}",
        r.show()
    );
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{}", r.stderr);
    // chains from the prior after 50 warmup iterations: each in a mode of its own
    assert!(
        lines[3].starts_with(
            "warning: the chains sit in 4 different modes after relabelling: chain 0 (1 of 4; \
             mean log density "
        ) && lines[3].ends_with("finds every mode in its share"),
        "{}",
        r.stderr
    );
    assert!(
        lines[0].starts_with(
            "warning: chain 3 looks stuck: mean acceptance 0.000 against a target of 0.80 (the \
             other chains 0.733–0.940), and its draws spread 0.00× as far as the other chains'; \
             the summary includes its draws. Try a longer --warmup"
        ),
        "{}",
        r.stderr
    );
    assert!(
        lines[1].starts_with("warning: split R-hat above 1.01 for 9 of 9 parameters: locs[0] "),
        "{}",
        r.stderr
    );
    assert!(
        lines[2].starts_with(
            "warning: effective sample size (bulk or tail) below 100 per chain for 9 of 9 \
             parameters: "
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn sample_is_identical_on_one_and_three_threads() {
    let tmp = TempDir::new().unwrap();
    let m = model("homework-2d-component.toml");
    let r = ok(&["simulate", &m, "-n", "5000", "--seed", "3"]);
    let data = write(&tmp, "big.csv", r.stdout.as_bytes());
    let run = |threads: &str| -> String {
        let out = path_str(&tmp.path().join(format!("run{threads}")));
        let args = [
            "sample",
            data.as_str(),
            m.as_str(),
            "--chains",
            "3",
            "--warmup",
            "100",
            "--draws",
            "100",
            "--quiet",
            "--out",
            out.as_str(),
        ];
        let r = bgmm_env(&args, &[("RAYON_NUM_THREADS", threads)]);
        assert_eq!(r.code, Some(0), "{}", r.show());
        // the draws and sampler statistics, without the header comments (command line)
        (0..3)
            .map(|c| {
                std::fs::read_to_string(tmp.path().join(format!("run{threads}/chain-{c}.csv")))
                    .unwrap()
                    .lines()
                    .filter(|l| !l.starts_with('#'))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(run("1"), run("3"));
}

/// Width and height of a PNG, from its header; panics unless the bytes are a PNG.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

fn svg_ok(path: &std::path::Path) -> String {
    let svg = std::fs::read_to_string(path).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{}",
        path.display()
    );
    svg
}

#[test]
fn plot_draws_the_pictures_of_a_fit() {
    let tmp = TempDir::new().unwrap();
    let fit = path_str(&tmp.path().join("fit"));
    ok(&[
        "fit",
        "builtin:tutorial",
        &model("tutorial.toml"),
        "--out",
        &fit,
    ]);
    let r = ok(&["plot", &fit]);
    for name in ["data", "swarm", "loss", "grad_norm", "density"] {
        assert!(r.stdout.contains(&format!("{name}.svg")), "{}", r.stdout);
        svg_ok(&tmp.path().join("fit").join(format!("{name}.svg")));
        let png = std::fs::read(tmp.path().join("fit").join(format!("{name}.png"))).unwrap();
        let (w, h) = png_size(&png);
        assert!(w >= 800 && h >= 300, "{name}: {w}x{h}");
    }
    // every file records where it came from: version, the run's command (with its seed), model
    let loss = svg_ok(&tmp.path().join("fit/loss.svg"));
    assert!(loss.contains("<metadata>drawn by bgmm "), "no metadata");
    assert!(loss.contains("made by: ") && loss.contains("fit builtin:tutorial"));
    assert!(loss.contains("lognormal"), "the model is recorded");
    let png = std::fs::read(tmp.path().join("fit/loss.png")).unwrap();
    let has = |needle: &[u8]| png.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"iTXtSoftware") && has(b"iTXtDescription") && has(b"fit builtin:tutorial"));
    // the density marks each of the 5 data points with a cross (two strokes)
    let density = svg_ok(&tmp.path().join("fit/density.svg"));
    assert_eq!(
        density
            .matches("<line opacity=\"0.45\" stroke=\"#000000\"")
            .count(),
        10
    );
    // the swarm shows each point twice: all together, then in its cluster's row
    let swarm = svg_ok(&tmp.path().join("fit/swarm.svg"));
    assert_eq!(swarm.matches("<circle").count(), 10);
    fails(&["plot", &fit, "--format", "gif"], &["--format", "gif"]);
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    fails(&["plot", &path_str(&empty)], &["holds no bgmm run"]);
    fails(
        &["plot", &path_str(&tmp.path().join("nope"))],
        &["not a directory"],
    );
    // a classification of the tutorial grid: assignment and probabilities against x
    let cls = path_str(&tmp.path().join("cls"));
    ok(&["classify", &fit, "grid:-3,15,0.1", "--out", &cls]);
    let r = ok(&["plot", &cls, "--format", "svg"]);
    assert!(r.stdout.contains("classify.svg"), "{}", r.stdout);
    assert!(!tmp.path().join("cls/classify.png").exists());
    let svg = svg_ok(&tmp.path().join("cls/classify.svg"));
    assert_eq!(svg.matches("<circle").count(), 180 * 2 + 2);
    assert!(
        svg.contains("component with mean 0.499"),
        "labels name the fit's locations"
    );
    // a sampling run: trace, rank, histograms, joint locations, predictive
    let run = path_str(&tmp.path().join("run"));
    ok(&[
        "sample",
        "builtin:tutorial",
        &model("tutorial.toml"),
        "--chains",
        "2",
        "--warmup",
        "100",
        "--draws",
        "100",
        "--quiet",
        "--out",
        &run,
    ]);
    // plotting the parent directory draws every run into its own directory
    let r = ok(&["plot", &path_str(tmp.path()), "--format", "svg"]);
    for name in ["trace", "rank", "posterior", "joint_locs", "predictive"] {
        assert!(r.stdout.contains(&format!("{name}.svg")), "{}", r.stdout);
        svg_ok(&tmp.path().join("run").join(format!("{name}.svg")));
    }
    let trace = svg_ok(&tmp.path().join("run/trace.svg"));
    for name in ["weights[0]", "locs[1]", "scale"] {
        assert!(
            trace.contains(&format!("\n{name}\n")),
            "{name} panel missing"
        );
    }
    let joint = svg_ok(&tmp.path().join("run/joint_locs.svg"));
    assert!(joint.contains("200 draws") && joint.contains("loc of component 1"));
    let pred = svg_ok(&tmp.path().join("run/predictive.svg"));
    assert!(pred.contains("data (5 values)") && pred.contains("(1000 values)"));
}

/// Issue 11: `sample --from-fit` refused a fit of the default model on data whose column
/// mean, 200.91520467836258, read back from fit.json one ulp off.
#[test]
fn sample_from_a_fit_of_the_default_model_takes_it() {
    let tmp = TempDir::new().unwrap();
    // 171 points in two groups, summing exactly to 34356.5: the mean is 200.91520467836258
    let mut csv = String::from("x\n");
    for i in 0..170 {
        let x = if i < 106 { 150.0 } else { 250.0 } + (i % 10) as f64 * 3.0;
        csv.push_str(&format!("{x:?}\n"));
    }
    csv.push_str("161.5\n");
    let data = write(&tmp, "d.csv", csv.as_bytes());
    let fit = path_str(&tmp.path().join("fit"));
    ok(&["fit", &data, "-k", "2", "--out", &fit]);
    let written = std::fs::read_to_string(tmp.path().join("fit/fit.json")).unwrap();
    assert!(written.contains("200.91520467836258"), "{written}");
    let v = json(&[
        "sample",
        &data,
        "-k",
        "2",
        "--from-fit",
        &fit,
        "--chains",
        "1",
        "--warmup",
        "30",
        "--draws",
        "30",
        "--quiet",
        "--json",
    ]);
    assert_eq!(
        v["model"]["locs"]["loc"][0].as_f64(),
        Some(200.91520467836258)
    );
    assert_eq!(v["options"]["from_fit"].as_str(), Some(fit.as_str()));
    // another default model is still refused, and the difference named
    fails(
        &[
            "sample",
            &data,
            "-k",
            "2",
            "--scale",
            "shared",
            "--from-fit",
            &fit,
        ],
        &[
            "--from-fit",
            "different model",
            "scale sharing 'component' against 'shared'",
        ],
    );
}

#[test]
fn sample_from_a_fit_checks_the_fit() {
    fn run(a: &[String]) -> Vec<&str> {
        a.iter().map(String::as_str).collect()
    }
    let tmp = TempDir::new().unwrap();
    let fit = path_str(&tmp.path().join("fit"));
    ok(&[
        "fit",
        "builtin:tutorial",
        &model("tutorial.toml"),
        "--out",
        &fit,
    ]);
    let base = [
        "sample",
        "builtin:tutorial",
        "--chains",
        "1",
        "--warmup",
        "50",
        "--draws",
        "50",
        "--quiet",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    // a fit of another model
    let other = with(&[&model("iris.toml"), "--from-fit", &fit]);
    fails(&run(&other), &["--from-fit", "different model"]);
    // a fit is a MAP start: not with prior draws
    let prior = with(&[
        &model("tutorial.toml"),
        "--from-fit",
        &fit,
        "--init",
        "prior",
    ]);
    fails(&run(&prior), &["--from-fit", "--init prior"]);
    let missing = with(&[&model("tutorial.toml"), "--from-fit", "no/such/fit"]);
    fails(&run(&missing), &["no/such/fit"]);
    // the run records the fit it started from
    let out = path_str(&tmp.path().join("run"));
    let good = with(&[&model("tutorial.toml"), "--from-fit", &fit, "--out", &out]);
    ok(&run(&good));
    let summary = std::fs::read_to_string(tmp.path().join("run/summary.json")).unwrap();
    assert!(
        summary.contains(&format!("\"from_fit\": \"{fit}\"")),
        "{summary}"
    );
}

#[test]
fn npy_files_and_minibatch_fits_reach_the_full_data_map() {
    let tmp = TempDir::new().unwrap();
    let dir = path_str(&tmp.path().join("sim"));
    ok(&[
        "simulate",
        &model("homework-1d.toml"),
        "-n",
        "200000",
        "--seed",
        "4",
        "--format",
        "npy",
        "--out",
        &dir,
    ]);
    let npy = path_str(&tmp.path().join("sim/data.npy"));
    let bytes = std::fs::read(&npy).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    assert_eq!(bytes.len() % 64, 0, "header padded, 200 000 f8 values");
    // the full-data MAP from the .npy file
    let full = json(&["fit", &npy, &model("homework-1d.toml"), "--json"]);
    assert_eq!(full["data"]["n"], 200_000);
    // minibatches of 2000 rows read from the file
    let mb = json(&[
        "fit",
        &npy,
        &model("homework-1d.toml"),
        "--minibatch",
        "2000",
        "--json",
    ]);
    let (lf, lm) = (full["loss"].as_f64().unwrap(), mb["loss"].as_f64().unwrap());
    // the minibatch answer's exact loss on all the data is within 2e-6 of the mode's
    assert!(lm >= lf - 1e-6 * lf.abs(), "{lm} below the mode {lf}");
    assert!((lm - lf).abs() < 2e-6 * lf.abs(), "{lm} vs {lf}");
    // the log likelihood of the streaming pass, near the full-data mode's
    let (llf, llm) = (
        full["loglik"].as_f64().unwrap(),
        mb["loglik"].as_f64().unwrap(),
    );
    assert!((llm - llf).abs() < 1e-5 * llf.abs(), "{llm} vs {llf}");
    assert_eq!(mb["n_params"], full["n_params"]);
    let locs = |v: &Value| -> Vec<f64> {
        let mut l: Vec<f64> = serde_json::from_value(v["params"]["locs"].clone()).unwrap();
        l.sort_by(f64::total_cmp);
        l
    };
    for (a, b) in locs(&full).iter().zip(locs(&mb)) {
        assert!((a - b).abs() < 0.01, "{a} vs {b}");
    }
    // the same from a CSV file
    let csv = path_str(&tmp.path().join("sim2"));
    ok(&[
        "simulate",
        &model("homework-1d.toml"),
        "-n",
        "50000",
        "--seed",
        "4",
        "--out",
        &csv,
    ]);
    let csv_file = path_str(&tmp.path().join("sim2/data.csv"));
    let full = json(&["fit", &csv_file, &model("homework-1d.toml"), "--json"]);
    let mb = json(&[
        "fit",
        &csv_file,
        &model("homework-1d.toml"),
        "--minibatch",
        "1000",
        "--json",
    ]);
    let (lf, lm) = (full["loss"].as_f64().unwrap(), mb["loss"].as_f64().unwrap());
    assert!((lm - lf).abs() < 1e-5 * lf.abs(), "{lm} vs {lf}");
    // VI on minibatches: posterior means close to the MAP
    let vi = json(&[
        "vi",
        &npy,
        &model("homework-1d.toml"),
        "--minibatch",
        "2000",
        "--steps",
        "2000",
        "--json",
    ]);
    assert_eq!(vi["options"]["minibatch"], 2000);
    let scale = vi["summary"]["scale"]["mean"].as_f64().unwrap();
    let map_scale = full["params"]["scale"].as_f64().unwrap();
    assert!((scale - map_scale).abs() < 0.02, "{scale} vs {map_scale}");
}

#[test]
fn bad_minibatch_npy_and_streaming_inputs_are_refused() {
    let tmp = TempDir::new().unwrap();
    let m = model("homework-1d.toml");
    fails(
        &[
            "fit",
            "builtin:iris",
            &m,
            "--columns",
            "petal_length",
            "--minibatch",
            "10",
        ],
        &["--minibatch reads a data file", "builtin:iris"],
    );
    let bad = tmp.path().join("bad.npy");
    std::fs::write(&bad, b"hello, this is not numpy").unwrap();
    fails(
        &["fit", &path_str(&bad), &m],
        &["bad.npy", "not a .npy file"],
    );
    fails(
        &["fit", &path_str(&bad), &m, "--minibatch", "10"],
        &["bad.npy", "not a .npy file"],
    );
    // a .npy cut short
    let dir = path_str(&tmp.path().join("s"));
    ok(&[
        "simulate", &m, "-n", "100", "--format", "npy", "--out", &dir,
    ]);
    let file = tmp.path().join("s/data.npy");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 8]).unwrap();
    fails(&["fit", &path_str(&file), &m], &["cut short"]);
    fails(
        &["simulate", &m, "-n", "10", "--format", "parquet"],
        &["--format", "parquet"],
    );
    fails(
        &["simulate", &m, "-n", "10", "--format", "npy"],
        &["--out DIR"],
    );
    fails(
        &["simulate", &m, "-n", "20000000"],
        &["--out DIR", "streamed"],
    );
    let dir = path_str(&tmp.path().join("z"));
    fails(
        &[
            "simulate",
            &m,
            "-n",
            "20000000",
            "--with-assignments",
            "--out",
            &dir,
        ],
        &["only the data"],
    );
    fails(
        &[
            "fit",
            &path_str(&tmp.path().join("missing.csv")),
            &m,
            "--minibatch",
            "10",
        ],
        &["missing.csv"],
    );
}

#[test]
fn large_csv_files_are_streamed_with_the_same_answer() {
    let tmp = TempDir::new().unwrap();
    let mut text = String::from("label,a,b\n");
    for i in 0..3000 {
        let x = (i % 7) as f64 + 0.01 * i as f64;
        text += &format!("r{i},{x},{}\n", if i % 2 == 0 { 10.0 + x } else { -x });
    }
    let file = write(&tmp, "d.csv", text.as_bytes());
    let args = ["fit", &file, "-k", "2", "--json"];
    let normal = bgmm_env(&args, &[]);
    let streamed = bgmm_env(&args, &[("BGMM_STREAM_CSV_BYTES", "1")]);
    assert_eq!(normal.code, Some(0), "{}", normal.show());
    assert_eq!(streamed.code, Some(0), "{}", streamed.show());
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("\"command\""))
            .collect::<Vec<_>>()
            .join("\n")
    };
    // the text column is left out by both readers, and the fits are identical
    assert!(normal.stdout.contains("\"a\"") && !normal.stdout.contains("\"label\""));
    assert_eq!(strip(&normal.stdout), strip(&streamed.stdout));
    // a bad cell in a streamed file is named with its row and column
    let bad = write(&tmp, "bad.csv", b"a,b\n1,2\n3,x\n");
    let r = bgmm_env(&["fit", &bad, "-k", "1"], &[("BGMM_STREAM_CSV_BYTES", "1")]);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains("row 3") && r.stderr.contains("column 'b'") && r.stderr.contains("'x'"),
        "{}",
        r.stderr
    );
}

#[test]
#[cfg(not(feature = "parquet"))]
fn parquet_without_the_feature_says_how_to_get_it() {
    let tmp = TempDir::new().unwrap();
    let file = write(&tmp, "d.parquet", b"PAR1");
    fails(
        &["fit", &file, "-k", "2"],
        &["d.parquet", "--features parquet"],
    );
    fails(
        &["fit", &file, "-k", "2", "--minibatch", "100"],
        &["d.parquet", "Parquet"],
    );
}

/// Same seed, same bits, whatever the number of threads: a whole pipeline run with
/// RAYON_NUM_THREADS = 1, 2 and 8 writes byte-identical files (once each run's own directory
/// name, recorded in the command lines, is replaced by the same placeholder, and the wall
/// time left out). The data are
/// large enough for the parallel chunked path.
#[test]
fn the_whole_pipeline_is_bit_identical_on_1_2_and_8_threads() {
    let m = model("homework-2d-component.toml");
    let pipeline = |threads: &str| -> Vec<(String, Vec<u8>)> {
        let tmp = TempDir::new().unwrap();
        let root = path_str(tmp.path());
        let p = |rel: &str| format!("{root}/{rel}");
        let env = [("RAYON_NUM_THREADS", threads)];
        let steps: Vec<Vec<String>> = vec![
            vec![
                "simulate",
                &m,
                "-n",
                "40000",
                "--seed",
                "5",
                "--format",
                "npy",
                "--out",
                &p("sim"),
            ],
            vec!["fit", &p("sim/data.npy"), &m, "--out", &p("fit")],
            vec![
                "classify",
                &p("fit"),
                &p("sim/data.npy"),
                "--temperature",
                "1",
                "--out",
                &p("cls"),
            ],
            vec![
                "sample",
                &p("sim/data.npy"),
                &m,
                "--chains",
                "2",
                "--warmup",
                "150",
                "--draws",
                "150",
                "--quiet",
                "--out",
                &p("run"),
            ],
            vec![
                "vi",
                &p("sim/data.npy"),
                &m,
                "--steps",
                "300",
                "--draws",
                "200",
                "--out",
                &p("vi"),
            ],
            vec![
                "predict",
                &p("run"),
                "--max-draws",
                "20",
                "--out",
                &p("run"),
            ],
            vec![
                "fit",
                &p("sim/data.npy"),
                &m,
                "--minibatch",
                "1000",
                "--sgd-steps",
                "300",
                "--out",
                &p("mb"),
            ],
            vec!["plot", &root, "--format", "svg"],
        ]
        .into_iter()
        .map(|v| v.into_iter().map(String::from).collect())
        .collect();
        for s in &steps {
            let args: Vec<&str> = s.iter().map(String::as_str).collect();
            let r = bgmm_env(&args, &env);
            assert_eq!(r.code, Some(0), "{}", r.show());
        }
        let mut files = Vec::new();
        let mut stack = vec![tmp.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path.strip_prefix(tmp.path()).unwrap().display().to_string();
                    let bytes = std::fs::read(&path).unwrap();
                    // the run's own directory in its command lines, and wall times, differ (and
                    // so the sizes and hashes of the files that hold them, in the manifests)
                    let manifest = path.ends_with("manifest.json");
                    let text = String::from_utf8_lossy(&bytes)
                        .replace(&root, "ROOT")
                        .lines()
                        .filter(|l| !l.contains("\"wall_s\""))
                        .filter(|l| {
                            !(manifest && (l.contains("\"bytes\"") || l.contains("\"fnv1a64\"")))
                        })
                        .collect::<Vec<_>>()
                        .join("\n");
                    let bytes = if std::str::from_utf8(&bytes).is_ok() {
                        text.into_bytes()
                    } else {
                        bytes
                    };
                    files.push((rel, bytes));
                }
            }
        }
        files.sort();
        files
    };
    let one = pipeline("1");
    assert!(one.len() >= 25, "{} files", one.len());
    for threads in ["2", "8"] {
        let other = pipeline(threads);
        assert_eq!(
            one.iter().map(|f| &f.0).collect::<Vec<_>>(),
            other.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
        for ((name, a), (_, b)) in one.iter().zip(&other) {
            assert!(a == b, "{name} differs between 1 and {threads} threads");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// where the MAP does not exist

/// Every point equal and a half-normal prior on each component's scale: the density is
/// unbounded as a component collapses on the value, so `fit` says the MAP does not exist, in
/// one line naming the data, the model, the point, the prior and the remedy, and writes
/// nothing.
#[test]
fn fit_says_when_the_map_does_not_exist() {
    let tmp = TempDir::new().unwrap();
    let data = write(&tmp, "same.csv", "x\n3\n3\n3\n3\n3\n3\n".as_bytes());
    let m = write(
        &tmp,
        "hn.toml",
        tutorial_with("prior = \"lognormal\"", "prior = \"half_normal\"")
            .replace("mu = 0.0\nsigma = 2.0\n", "scale = 1.0\n")
            .replace("sharing = \"shared\"", "sharing = \"component\"")
            .as_bytes(),
    );
    fails_out(
        &["fit", &data, &m],
        &[
            "same.csv",
            "hn.toml",
            "the MAP does not exist",
            "x = 3, 6 identical points",
            "HalfNormal(1)",
            "lognormal or inverse_gamma",
        ],
    );
}

/// A half-normal prior per component on the tutorial's data: a proper mode is found, and
/// fit.json (and stderr) say it is a local one, since no MAP exists.
#[test]
fn fit_json_warns_of_a_local_mode() {
    let tmp = TempDir::new().unwrap();
    let m = write(
        &tmp,
        "hn.toml",
        tutorial_with("prior = \"lognormal\"", "prior = \"half_normal\"")
            .replace("mu = 0.0\nsigma = 2.0\n", "scale = 10.0\n")
            .replace("sharing = \"shared\"", "sharing = \"component\"")
            .as_bytes(),
    );
    let out = path_str(&tmp.path().join("fit"));
    let r = ok(&["fit", "builtin:tutorial", &m, "--out", &out]);
    assert!(
        r.stderr
            .contains("warning: this is a local mode, not the MAP, which does not exist"),
        "{}",
        r.show()
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("fit/fit.json")).unwrap())
            .unwrap();
    let w = v["warnings"].as_array().unwrap();
    assert!(
        w.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("local mode, not the MAP, which does not exist")),
        "{w:?}"
    );
    // the mode itself is the tutorial's two clusters
    let mut locs = f64s(&v["params"]["locs"]);
    locs.sort_by(f64::total_cmp);
    assert!(
        (locs[0] - 0.5).abs() < 0.01 && (locs[1] - 11.0).abs() < 0.05,
        "{locs:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// the best proper mode by default (issue 11)

/// The README's example of a runaway fit: seed 000's own model on its own simulated data,
/// where the Dirichlet(0.5) density is unbounded as a weight → 0 and no interior mode exists.
/// Before: loss −4.45e21, weights [0, 1], "converged (… line search failed)", exit 0.
#[test]
fn a_runaway_to_the_edge_of_the_simplex_is_an_error_naming_the_remedy() {
    let tmp = TempDir::new().unwrap();
    let m = model("homework-1d.toml");
    let sim = ok(&["simulate", &m, "-n", "100", "--seed", "8"]);
    let data = write(&tmp, "s8.csv", sim.stdout.as_bytes());
    fails_out(
        &["fit", &data, &m],
        &[
            "s8.csv",
            "no proper mode",
            "weights[",
            "concentration 0.5 < 1",
            "concentration = 1",
            "bgmm sample",
        ],
    );
}

/// Iris petal lengths are recorded to 0.1: with four components the lowest loss found puts a
/// component on the eight tied values at 5.1 with a scale of 4e-16 (loss 89.19), which the
/// default now sets aside for the best mode whose components are all wider than 0.1/√12,
/// with a warning; `--resolution off` gives the old answer back.
#[test]
fn a_component_on_tied_values_is_set_aside_for_the_best_proper_mode() {
    let args = [
        "fit",
        "builtin:iris",
        "--columns",
        "petal_length",
        "-k",
        "4",
        "--json",
    ];
    let r = ok(&args);
    let f: Value = serde_json::from_str(&r.stdout).unwrap();
    let scales = f64s(&f["params"]["scale"]);
    assert!(scales.iter().all(|s| *s > 0.1 / 12f64.sqrt()), "{scales:?}");
    assert3("loss", f["loss"].as_f64().unwrap(), 213.933030);
    assert_eq!(f["converged"], true);
    assert_eq!(f64s(&f["resolution"]), vec![0.1]);
    assert_eq!(f["options"]["resolution"], "auto");
    let warned = f["warnings"].as_array().unwrap();
    assert!(
        warned.iter().any(|w| {
            let w = w.as_str().unwrap();
            w.contains("set aside") && w.contains("recorded to 0.1")
        }),
        "{warned:?}"
    );
    assert!(r.stderr.contains("set aside"), "{}", r.stderr);
    // the old answer, on request
    let mut off = args.to_vec();
    off.extend(["--resolution", "off"]);
    let f = json(&off);
    let least = f64s(&f["params"]["scale"])
        .into_iter()
        .fold(f64::INFINITY, f64::min);
    assert!(least < 1e-10, "{least}");
    assert!(f["loss"].as_f64().unwrap() < 100.0, "{}", f["loss"]);
    // a resolution given by hand, and bad ones
    let mut given = args.to_vec();
    given.extend(["--resolution", "0.1"]);
    assert3("loss", json(&given)["loss"].as_f64().unwrap(), 213.933030);
    for bad in ["--resolution=-1", "--resolution=x", "--resolution=0.1,0.1"] {
        let mut a = args.to_vec();
        a.push(bad);
        fails(&a, &["--resolution"]);
    }
}

/// Where every mode puts a component on tied values, the error says so and how to keep one.
#[test]
fn no_mode_without_a_component_on_tied_values_is_an_error() {
    let tmp = TempDir::new().unwrap();
    let data = write(&tmp, "ties.csv", b"x\n1\n1\n1\n1\n2\n2\n2\n2\n3\n3\n3\n3\n");
    fails_out(
        &["fit", &data, "-k", "3"],
        &[
            "ties.csv",
            "no proper mode",
            "narrower than the data's resolution",
            "recorded to 1",
            "--resolution 0",
        ],
    );
}

/// Old Faithful, K = 3 with diagonal scales: the old default (Pyro's 100 starts, 10
/// optimised; also with 2000 and 100) stopped at 1172.476153; k-means++ starts reach
/// 1167.587465, and so does the default now, saying which start found it.
#[test]
fn the_default_search_reaches_the_best_mode_of_old_faithful() {
    let base = [
        "fit",
        "builtin:faithful",
        "-k",
        "3",
        "--scale",
        "diagonal",
        "--json",
    ];
    let f = json(&base);
    assert3("loss", f["loss"].as_f64().unwrap(), 1167.587465);
    assert!(
        f["strategy"].as_str().unwrap().contains("start #"),
        "{}",
        f["strategy"]
    );
    let mut pyro = base.to_vec();
    pyro.extend(["--init", "pyro"]);
    assert3("loss", json(&pyro)["loss"].as_f64().unwrap(), 1172.476153);
}

/// "converged" only with the gradient test passed, and the message never says otherwise.
#[test]
fn converged_and_the_stop_message_agree() {
    for (data, k, sharing) in [
        ("petal_length,petal_width", "4", "component"),
        ("petal_length", "6", "component"),
        ("sepal_length,sepal_width", "5", "diagonal"),
    ] {
        let f = json(&[
            "fit",
            "builtin:iris",
            "--columns",
            data,
            "-k",
            k,
            "--scale",
            sharing,
            "--json",
        ]);
        let msg = f["message"].as_str().unwrap();
        let tol = 1e-9 * f["loss"].as_f64().unwrap().abs().max(1.0);
        let g = f["grad_norm_max"].as_f64().unwrap();
        if f["converged"] == true {
            assert!(g <= tol, "{data} k = {k}: {g} > {tol}");
            assert!(msg.starts_with("gradient below tolerance"), "{msg}");
        } else {
            assert!(!msg.contains("below tolerance"), "{msg}");
            assert!(
                f["warnings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|w| w.as_str().unwrap().starts_with("not converged")),
                "{f}"
            );
        }
    }
}

/// `-k K --covariance full|tied` and a model file's `[covariance]` table, end to end: the fit
/// prints standard deviations and correlations, its record classifies, and the model file
/// says the same model as the flag (the same loss).
#[test]
fn covariance_families_from_the_command_line_and_a_model_file() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(&tmp.path().join("full"));
    let r = ok(&[
        "fit",
        "builtin:iris",
        "-k",
        "3",
        "--covariance",
        "full",
        "--out",
        &out,
    ]);
    assert!(r.stdout.contains("--covariance full"), "{}", r.stdout);
    assert!(r.stdout.contains("corr    = ["), "{}", r.stdout);
    assert!(r.stdout.contains("with 44 free parameters"), "{}", r.stdout);
    let c = json(&["classify", &out, "builtin:iris", "--json"]);
    let z = usizes(&c["assignments"]);
    // iris's first 50 rows (setosa) in one component, which has no other row
    assert!(z[..50].iter().all(|&a| a == z[0]));
    assert!(z[50..].iter().all(|&a| a != z[0]));
    // the quick model's [covariance] table in a file: the same fit
    let flag = json(&[
        "fit",
        "builtin:iris",
        "-k",
        "3",
        "--covariance",
        "tied",
        "--json",
    ]);
    let spec = &flag["model"];
    let mu = spec["scale"]["mu"].as_f64().unwrap();
    let text = format!(
        "k = 3\n[weights]\nconcentration = 1.0\n[locs]\nloc = {}\nscale = {}\n[covariance]\nfamily = \"tied\"\n[scale]\nprior = \"lognormal\"\nmu = {mu:?}\nsigma = 2.0\n",
        spec["locs"]["loc"], spec["locs"]["scale"]
    );
    let m = write(&tmp, "tied.toml", text.as_bytes());
    let file = json(&["fit", "builtin:iris", &m, "--json"]);
    assert_eq!(file["loss"], flag["loss"]);
    // the flag goes with -k only, and takes a family's name
    fails_out(
        &["fit", "builtin:iris", &m, "--covariance", "full"],
        &["--covariance", "-k", "[covariance] family"],
    );
    fails_out(
        &["fit", "builtin:iris", "-k", "3", "--covariance", "fulll"],
        &["--covariance", "'fulll'"],
    );
}

/// Wine's 13 columns, K = 3, tied covariance, LKJ(1): the correlations near ±1 on rounded
/// data leave a mode the loss resolves only to rounding, with a gradient above the test
/// (4e-6 against 3.3e-6); a Newton step on the Hessian shows it would gain 1e-13 nats, so
/// the fit is converged and says why (it said "not converged" before).
#[test]
fn an_ill_conditioned_mode_is_converged_to_the_losss_rounding() {
    let v = json(&[
        "fit",
        "builtin:wine",
        "-k",
        "3",
        "--covariance",
        "tied",
        "--json",
    ]);
    assert_eq!(v["converged"], true, "{v}");
    assert!(v["warnings"].as_array().unwrap().is_empty(), "{v}");
    let ll = v["loglik"].as_f64().unwrap();
    // scikit-learn's best of 20 random states: −3181.62
    assert!(ll > -3181.62, "{ll}");
}

/// `predict --impute DATA`: one completed copy of DATA per set (a fit) or per draw (a sampling
/// run), the observed values as they were and every missing one drawn; with a full covariance
/// the draws follow the correlation (y given x = 1.5 in the cluster y ≈ 1.5 x + 0.6 lands
/// near 2.85, not at the cluster's mean of y); `-n` does not go with it.
#[test]
fn predict_imputes_the_missing_values_of_data() {
    let tmp = TempDir::new().unwrap();
    let p = write(
        &tmp,
        "imp.csv",
        b"x,y\n1.0,2.1\n1.5,NA\n,3.0\n5.2,7.9\n5.5,8.4\n6.0,\n1.2,2.0\n0.8,1.7\n5.9,8.8\n",
    );
    let fit = path_str(&tmp.path().join("fit"));
    ok(&["fit", &p, "-k", "2", "--covariance", "full", "--out", &fit]);
    let r = ok(&[
        "predict", &fit, "--impute", &p, "--sets", "200", "--seed", "4",
    ]);
    let rows: Vec<Vec<f64>> = r
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 200 * 9);
    let mut y_at_15 = Vec::new();
    for set in rows.chunks(9) {
        assert_eq!(set[0], vec![set[0][0], 1.0, 2.1]);
        assert_eq!(set[3][1..], [5.2, 7.9]);
        assert_eq!(set[1][1], 1.5);
        assert_eq!(set[2][2], 3.0);
        assert!(set.iter().all(|r| r.iter().all(|v| v.is_finite())));
        y_at_15.push(set[1][2]);
    }
    let m = y_at_15.iter().sum::<f64>() / 200.0;
    assert!((m - 2.85).abs() < 0.3, "{m}");
    // a sampling run: one completed data set per draw used
    let run = path_str(&tmp.path().join("run"));
    ok(&[
        "sample",
        &p,
        "-k",
        "2",
        "--covariance",
        "full",
        "--chains",
        "2",
        "--warmup",
        "200",
        "--draws",
        "100",
        "--quiet",
        "--out",
        &run,
    ]);
    let v = json(&[
        "predict",
        &run,
        "--impute",
        &p,
        "--max-draws",
        "50",
        "--json",
    ]);
    assert_eq!(v["sets"], 50);
    assert!(v["kind"].as_str().unwrap().contains("multiple imputation"));
    fails(
        &["predict", &fit, "--impute", &p, "-n", "5"],
        &["-n", "--impute"],
    );
}

// ---------------------------------------------------------------------------------------------
// select

/// `select --json`: every pair in order of K then family with its criteria; on iris the BIC
/// within 1 of mclust's (`-mclustBIC(iris[, 1:4], G = 1:3)`: VVI 1522.12, 857.55, 744.64; VVV
/// 829.98, 574.02, 580.84) and its choice, VVV with 2 components.
#[test]
fn select_json_has_every_pair_and_mclusts_choice() {
    let v = json(&[
        "select",
        "builtin:iris",
        "-k",
        "1..3",
        "--covariance",
        "diagonal,full",
        "--json",
    ]);
    assert_eq!(v["criterion"], "bic");
    assert_eq!(v["n"], 150);
    let table = v["table"].as_array().unwrap();
    let pairs: Vec<(u64, &str)> = table
        .iter()
        .map(|r| (r["k"].as_u64().unwrap(), r["covariance"].as_str().unwrap()))
        .collect();
    assert_eq!(
        pairs,
        [
            (1, "diagonal"),
            (1, "full"),
            (2, "diagonal"),
            (2, "full"),
            (3, "diagonal"),
            (3, "full")
        ]
    );
    let mclust = [1522.12, 829.98, 857.55, 574.02, 744.64, 580.84];
    for (r, want) in table.iter().zip(mclust) {
        assert_eq!(r["status"], "ok");
        let (ll, p, bic) = (
            r["loglik"].as_f64().unwrap(),
            r["n_params"].as_f64().unwrap(),
            r["bic"].as_f64().unwrap(),
        );
        assert!((bic - want).abs() < 1.0, "{r}");
        assert!((bic - (-2.0 * ll + p * 150f64.ln())).abs() < 1e-9);
        assert!((r["aic"].as_f64().unwrap() - (-2.0 * ll + 2.0 * p)).abs() < 1e-9);
        assert!(r["icl"].as_f64().unwrap() >= bic);
    }
    assert_eq!(v["best"]["k"], 2);
    assert_eq!(v["best"]["covariance"], "full");
    assert_eq!(v["best"]["n_params"], 29);
}

/// The text: mclust's table with its codes, the best three with their differences, and the
/// command that fits the best alone; `--out` writes the selection and the best model's fit,
/// which `classify` reads as any fit.
#[test]
fn select_prints_the_table_and_writes_the_best_fit() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("sel");
    let out_s = path_str(&out);
    let r = ok(&[
        "select",
        "builtin:iris",
        "-k",
        "2,3",
        "--covariance",
        "tied,full",
        "--out",
        &out_s,
    ]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    let head = lines
        .iter()
        .position(|l| l.contains("tied") && l.contains("full"))
        .unwrap();
    assert!(lines[head + 1].contains("EEE") && lines[head + 1].contains("VVV"));
    assert!(lines[head + 2].trim_start().starts_with('2'));
    assert!(r.stdout.contains("Best by BIC:"), "{}", r.stdout);
    assert!(r.stdout.contains("1. full, K = 2 (VVV,2)"), "{}", r.stdout);
    assert!(r.stdout.contains("2. full, K = 3 (VVV,3)"), "{}", r.stdout);
    assert!(r
        .stdout
        .contains("The best alone: bgmm fit builtin:iris -k 2 --covariance full"));
    let sel: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("select.json")).unwrap()).unwrap();
    let best_ll = sel["best"]["loglik"].as_f64().unwrap();
    // the best fit is the fit of `fit -k 2 --covariance full`, to the bit
    let fit = json(&[
        "fit",
        "builtin:iris",
        "-k",
        "2",
        "--covariance",
        "full",
        "--json",
    ]);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("best-fit.json")).unwrap()).unwrap();
    assert_eq!(written["loss"], fit["loss"]);
    assert_eq!(written["loglik"].as_f64().unwrap(), best_ll);
    let c = json(&[
        "classify",
        &path_str(&out.join("best-fit.json")),
        "builtin:iris",
        "--json",
    ]);
    assert_eq!(c["assignments"].as_array().unwrap().len(), 150);
    // `plot` draws the criterion against K
    let p = ok(&["plot", &out_s]);
    assert!(p.stdout.contains("select-bic.svg"), "{}", p.stdout);
}

#[test]
fn select_bad_options_are_one_line_errors() {
    fails_out(
        &["select", "builtin:iris", "-k", "0"],
        &["-k", "at least 1"],
    );
    fails_out(&["select", "builtin:iris", "-k", "3..1"], &["-k", "empty"]);
    fails_out(&["select", "builtin:iris", "-k", "two"], &["-k", "'two'"]);
    fails_out(
        &["select", "builtin:iris", "--covariance", "full,bogus"],
        &["bogus"],
    );
    fails_out(
        &["select", "builtin:iris", "--covariance", "full,full"],
        &["--covariance", "full twice"],
    );
    fails_out(&["select", "builtin:iris", "--criterion", "dic"], &["dic"]);
    fails_out(
        &["select", "builtin:iris", "--restarts", "0"],
        &["--restarts", "at least 1"],
    );
    fails_out(&["select", "no-such-file.csv"], &["no-such-file.csv"]);
}

/// The `.npy` of `sample --out`: its shape and values (little-endian f8, C order).
fn read_npy3(path: &Path) -> (String, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + hlen])
        .unwrap()
        .to_string();
    assert_eq!((10 + hlen) % 64, 0, "{header}");
    let values = bytes[10 + hlen..]
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    (header, values)
}

/// `sample --out` writes the pointwise log likelihood, chain × draw × point: each value is
/// `log Σ_k w_k N(x | μ_k, σ_k)` of the draw in `raw-chain-c.csv`, computed here. `loo` reads
/// it, and gets the same numbers when the file is gone and it computes them again from the
/// draws and the data; two runs are compared, the better model first; K₊ is in the summary.
#[test]
fn sample_writes_the_pointwise_log_likelihood_and_loo_reads_it() {
    let tmp = TempDir::new().unwrap();
    let xs: Vec<f64> = (0..60)
        .map(|i| {
            if i % 2 == 0 {
                -2.0 + 0.05 * i as f64
            } else {
                3.0 + 0.03 * i as f64
            }
        })
        .collect();
    let text: Vec<String> = xs.iter().map(|v| v.to_string()).collect();
    let data = write(
        &tmp,
        "two.csv",
        format!("x\n{}\n", text.join("\n")).as_bytes(),
    );
    let dir = |k: &str| path_str(&tmp.path().join(k));
    for k in ["1", "2"] {
        ok(&[
            "sample",
            &data,
            "-k",
            k,
            "--chains",
            "2",
            "--warmup",
            "150",
            "--draws",
            "100",
            "--quiet",
            "--out",
            &dir(k),
        ]);
    }
    let (header, ll) = read_npy3(&tmp.path().join("2/log-lik.npy"));
    assert!(header.contains("'shape': (2, 100, 60)"), "{header}");
    assert_eq!(ll.len(), 2 * 100 * 60);
    for c in 0..2 {
        let csv = std::fs::read_to_string(tmp.path().join(format!("2/raw-chain-{c}.csv"))).unwrap();
        let rows: Vec<Vec<f64>> = csv
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("lp__"))
            .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
            .collect();
        assert_eq!(rows.len(), 100);
        for (s, r) in rows.iter().enumerate() {
            // weights.1, weights.2, locs.1, locs.2, scale.1, scale.2 after 7 sampler columns
            let p = &r[7..];
            for (i, x) in xs.iter().enumerate() {
                let want = (0..2)
                    .map(|k| {
                        let z = (x - p[2 + k]) / p[4 + k];
                        p[k] * (-0.5 * z * z).exp()
                            / (p[4 + k] * (2.0 * std::f64::consts::PI).sqrt())
                    })
                    .sum::<f64>()
                    .ln();
                let got = ll[(c * 100 + s) * 60 + i];
                assert!(
                    (got - want).abs() < 1e-9,
                    "chain {c} draw {s} point {i}: {got} vs {want}"
                );
            }
        }
    }
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("2/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["log_lik"], "log-lik.npy");
    let occ = f64s(&summary["occupied"]["probs"]);
    assert_eq!(occ.len(), 3);
    assert!(occ[2] > 0.99, "{occ:?}");

    let v = json(&["loo", &dir("2"), "--json"]);
    let loo = &v["runs"][0]["loo"];
    assert_eq!(loo["n_draws"], 200);
    assert_eq!(loo["n_points"], 60);
    let pointwise = f64s(&loo["pointwise"]);
    let elpd = loo["elpd"].as_f64().unwrap();
    assert!((pointwise.iter().sum::<f64>() - elpd).abs() < 1e-9);
    // lppd, the mean of the draws' densities, bounds the leave-one-out elpd from above
    let lppd: f64 = (0..60)
        .map(|i| {
            let m = (0..200).map(|s| ll[s * 60 + i].exp()).sum::<f64>() / 200.0;
            m.ln()
        })
        .sum();
    assert!((lppd - elpd - loo["p"].as_f64().unwrap()).abs() < 1e-9);
    assert!(elpd < lppd);

    // the same run without its log-lik.npy: computed again from the draws and the data
    let again = tmp.path().join("2b");
    std::fs::create_dir(&again).unwrap();
    for f in std::fs::read_dir(tmp.path().join("2")).unwrap() {
        let f = f.unwrap();
        let name = f.file_name().to_string_lossy().to_string();
        if name != "log-lik.npy" && name != "manifest.json" {
            std::fs::copy(f.path(), again.join(&name)).unwrap();
        }
    }
    let w = json(&["loo", &path_str(&again), "--json"]);
    let elpd2 = w["runs"][0]["loo"]["elpd"].as_f64().unwrap();
    assert!(
        (elpd2 - elpd).abs() < 1e-9 * elpd.abs(),
        "{elpd2} vs {elpd}"
    );

    let r = ok(&["loo", &dir("1"), &dir("2"), "--names", "one,two"]);
    let table: Vec<&str> = r
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Comparison by PSIS-LOO"))
        .collect();
    assert!(table[2].starts_with("0    two"), "{}", r.stdout);
    assert!(table[3].starts_with("1    one"), "{}", r.stdout);
    fails(
        &["loo", &dir("1"), "--names", "a,b"],
        &["--names", "2 names for 1 runs"],
    );
    fails(&["loo", &data], &["summary.json"]);
}

/// `select --criterion loo`: each pair's posterior in the JSON (looic = −2·elpd_loo, WAIC,
/// Pareto k), the compare table best first, the text naming the criterion; the sampler's
/// flags are checked.
#[test]
fn select_by_loo_samples_every_pair() {
    let v = json(&[
        "select",
        "builtin:iris",
        "--columns",
        "petal_length",
        "-k",
        "1,2",
        "--criterion",
        "loo",
        "--chains",
        "2",
        "--warmup",
        "200",
        "--draws",
        "200",
        "--json",
    ]);
    assert_eq!(v["criterion"], "loo");
    for r in v["table"].as_array().unwrap() {
        let p = &r["posterior"];
        let looic = p["looic"].as_f64().unwrap();
        assert!(
            (looic + 2.0 * p["elpd_loo"].as_f64().unwrap()).abs() < 1e-9,
            "{r}"
        );
        assert!(
            (p["waic"].as_f64().unwrap() + 2.0 * p["elpd_waic"].as_f64().unwrap()).abs() < 1e-9
        );
        assert_eq!(p["bad_pareto_k"], 0, "{r}");
    }
    assert_eq!(v["best"]["k"], 2);
    assert_eq!(v["best"]["covariance"], "component");
    let cmp = v["compare"].as_array().unwrap();
    assert_eq!(cmp.len(), 4);
    assert_eq!(cmp[0]["name"], "VII,2");
    let r = ok(&[
        "select",
        "builtin:iris",
        "--columns",
        "petal_length",
        "-k",
        "2",
        "--covariance",
        "component",
        "--criterion",
        "waic",
        "--chains",
        "2",
        "--warmup",
        "200",
        "--draws",
        "200",
    ]);
    assert!(
        r.stdout.contains("WAIC, lower is better (−2 × elpd_waic"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Comparison by WAIC (stacking weights)"),
        "{}",
        r.stdout
    );
    fails_out(
        &[
            "select",
            "builtin:iris",
            "--criterion",
            "loo",
            "--draws",
            "2",
        ],
        &["--draws", "at least 4"],
    );
}

/// `sample --engine smc`: the evidence with its Monte Carlo error and each run's temperatures
/// in the JSON and the text, the run directory readable by `classify`; the same number as
/// `select --criterion evidence` gives the same pair with the same seed and options; the SMC
/// flags are checked.
#[test]
fn sample_by_smc_reports_the_evidence() {
    let common = [
        "builtin:iris",
        "--columns",
        "petal_length",
        "-k",
        "2",
        "--covariance",
        "component",
        "--chains",
        "2",
        "--draws",
        "300",
    ];
    let mut args = vec!["sample"];
    args.extend(common);
    args.extend(["--engine", "smc", "--json"]);
    let v = json(&args);
    assert_eq!(v["options"]["method"], "smc");
    let ev = &v["evidence"];
    let log_z = ev["log_evidence"].as_f64().unwrap();
    // the runs' estimates, combined as the log of their mean
    let runs: Vec<f64> = ev["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["log_evidence"].as_f64().unwrap())
        .collect();
    assert_eq!(runs.len(), 2);
    let m = runs[0].max(runs[1]);
    let mean = m + (((runs[0] - m).exp() + (runs[1] - m).exp()) / 2.0).ln();
    assert!((log_z - mean).abs() < 1e-12, "{log_z} against {mean}");
    assert!(ev["std_error"].as_f64().unwrap() > 0.0);
    for r in ev["runs"].as_array().unwrap() {
        let steps = r["steps"].as_array().unwrap();
        assert_eq!(steps.last().unwrap()["beta"], 1.0);
    }
    assert_eq!(v["chains"].as_array().unwrap().len(), 2);
    // the text and a run directory
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut args = vec!["sample"];
    args.extend(common);
    args.extend(["--engine", "smc", "--out", run.to_str().unwrap()]);
    let r = ok(&args);
    assert!(r.stdout.contains("SMC on builtin:iris"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains(&format!("Log evidence log p(x) = {log_z:.3} ± ")),
        "{}",
        r.stdout
    );
    let c = json(&["classify", run.to_str().unwrap(), "builtin:iris", "--json"]);
    assert_eq!(c["assignments"].as_array().unwrap().len(), 150);
    // select's evidence of the same pair: the same runs, the same bits
    let s = json(&[
        "select",
        "builtin:iris",
        "--columns",
        "petal_length",
        "-k",
        "1,2",
        "--covariance",
        "component",
        "--criterion",
        "evidence",
        "--chains",
        "2",
        "--draws",
        "300",
        "--json",
    ]);
    assert_eq!(s["criterion"], "evidence");
    let rows = s["table"].as_array().unwrap();
    let k2 = rows.iter().find(|r| r["k"] == 2).unwrap();
    assert_eq!(k2["posterior"]["log_evidence"].as_f64().unwrap(), log_z);
    let p: f64 = rows
        .iter()
        .map(|r| r["posterior"]["probability"].as_f64().unwrap())
        .sum();
    assert!((p - 1.0).abs() < 1e-12, "{p}");
    // the evidence for two components is overwhelming on petal length
    assert_eq!(s["best"]["k"], 2);
    assert!(k2["posterior"]["probability"].as_f64().unwrap() > 0.99);
    // the flags
    let mut bad = vec!["sample"];
    bad.extend(common);
    bad.extend(["--engine", "smc", "--ess-ratio", "1.5"]);
    fails(&bad, &["--ess-ratio", "(0, 1)"]);
    let mut bad = vec!["sample"];
    bad.extend(common);
    bad.extend(["--engine", "smc", "--init", "prior"]);
    fails(&bad, &["--init", "--engine smc"]);
    let mut bad = vec![
        "sample",
        "builtin:iris",
        "--columns",
        "petal_length",
        "-k",
        "2",
    ];
    bad.extend(["--engine", "smc", "--draws", "5"]);
    fails(&bad, &["--draws", "at least 10"]);
}

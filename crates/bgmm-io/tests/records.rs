//! Every record kind reads back through its type and writes out again as the same bytes, and
//! the files written by bgmm before the records were typed (`tests/fixtures/*-v0-*`, made by
//! the main branch's binary at 5263469) still load.

use std::path::{Path, PathBuf};

use bgmm_io::{
    json_bytes, load_classification, load_fit, load_run, ClassifyRecord, FitRecord,
    PredictiveRecord, RunOptions, SampleRecord, SimulateRecord, TruthRecord,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// `T` read from `file`, written again as the same bytes, and read back equal.
fn round_trip<T>(file: &Path) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let written = text(file);
    let rec: T = serde_json::from_str(&written).unwrap();
    let again = String::from_utf8(json_bytes(&rec).unwrap()).unwrap();
    assert_eq!(again, written, "{} written again", file.display());
    // equal, but for NaN (written as null), which is not equal to itself
    let back: T = serde_json::from_str(&again).unwrap();
    assert_eq!(json_bytes(&back).unwrap(), json_bytes(&rec).unwrap());
    rec
}

#[test]
fn fits_written_before_the_split_load_and_write_back_the_same_bytes() {
    // (file, loss as the fit printed it, model file or -k, columns)
    for (name, loss, k, d) in [
        ("fit-v0-tutorial-model-toml.json", 17.443255, 2, 1),
        ("fit-v0-iris-k3.json", 217.487047, 3, 2),
        ("fit-v0-iris-pyro-model-toml.json", f64::NAN, 2, 1),
        ("fit-v0-faithful-k2-diagonal.json", 1175.550153, 2, 2),
    ] {
        let file = fixture(name);
        let rec: FitRecord = round_trip(&file);
        let (loaded, model, params) = load_fit(&file).unwrap();
        assert_eq!(loaded, rec);
        assert_eq!((model.k, model.d), (k, d), "{name}");
        assert_eq!(params.shaped(&model), rec.params, "{name}");
        if !loss.is_nan() {
            assert!((rec.loss - loss).abs() < 5e-7, "{name}: loss {}", rec.loss);
        }
        assert!(rec.command.contains(" fit builtin:"), "{name}");
    }
    let iris = load_fit(&fixture("fit-v0-iris-k3.json")).unwrap().0;
    assert_eq!(iris.data.columns, ["petal_length", "petal_width"]);
    assert_eq!((iris.data.n, iris.options.restarts), (150, 100));
    let faithful = load_fit(&fixture("fit-v0-faithful-k2-diagonal.json"))
        .unwrap()
        .0;
    assert!(!faithful.options.polish);
    assert_eq!(faithful.options.resolution, "off");
}

/// A fit written before `candidates`, `subsample`, `resolution` and `strategy` existed loads
/// with their defaults.
#[test]
fn a_fit_without_the_later_fields_loads_with_their_defaults() {
    let mut v: serde_json::Value =
        serde_json::from_str(&text(&fixture("fit-v0-tutorial-model-toml.json"))).unwrap();
    for key in ["strategy", "resolution", "grad_norm_max"] {
        v.as_object_mut().unwrap().remove(key);
    }
    for key in ["candidates", "subsample", "resolution"] {
        v["options"].as_object_mut().unwrap().remove(key);
    }
    let (rec, _, _) = bgmm_io::fit_from_str(&v.to_string(), "old.json").unwrap();
    assert_eq!(rec.options.candidates, 1);
    assert_eq!(rec.options.subsample, 0);
    assert_eq!(rec.options.resolution, "off");
    assert_eq!(rec.strategy, "");
    assert_eq!(rec.grad_norm_max, None);
    // issue 14's missing values per column: none recorded, none written back
    assert!(rec.data.missing.is_empty());
    assert!(!String::from_utf8(json_bytes(&rec).unwrap())
        .unwrap()
        .contains("\"missing\""));
    // a new record has them, in the order of the columns, and reads them back
    let mut new = rec.clone();
    new.data = bgmm_io::DataInfo::of(
        "d.csv",
        &["x".into(), "y".into()],
        &bgmm::Data::with_missing(vec![vec![1.0, f64::NAN, 2.0], vec![f64::NAN; 3]]).unwrap(),
    );
    assert_eq!((new.data.n, &new.data.missing[..]), (3, &[1, 3][..]));
    assert_eq!(
        new.data.missing_text().as_deref(),
        Some("4 missing values: x 1, y 3")
    );
    let text = String::from_utf8(json_bytes(&new).unwrap()).unwrap();
    let (back, _, _) = bgmm_io::fit_from_str(&text, "new.json").unwrap();
    assert_eq!(back.data, new.data);
    // --drop-missing is recorded when given, and only then
    assert!(!text.contains("drop_missing"));
    let dropped = new.data.clone().dropped(true);
    let text = String::from_utf8(json_bytes(&dropped).unwrap()).unwrap();
    assert!(text.contains("\"drop_missing\": true"), "{text}");
    let back: bgmm_io::DataInfo = serde_json::from_str(&text).unwrap();
    assert_eq!(back, dropped);
}

#[test]
fn sampling_and_vi_runs_written_before_the_split_load_and_write_back_the_same_bytes() {
    for (dir, method, chains) in [
        ("sample-v0-tutorial", "nuts", 2),
        ("vi-v0-tutorial", "vi", 1),
    ] {
        let dir = fixture(dir);
        let rec: SampleRecord = round_trip(&dir.join("summary.json"));
        assert_eq!(rec.method(), method);
        let (loaded, run) = load_run(&dir).unwrap();
        assert_eq!(json_bytes(&loaded).unwrap(), json_bytes(&rec).unwrap());
        assert_eq!((run.n, run.model.k, run.chains.len()), (5, 2, chains));
        assert_eq!(run.columns, ["x"]);
        match rec.options.as_ref().unwrap() {
            RunOptions::Nuts(o) => {
                assert_eq!(
                    (o.chains, o.warmup, o.draws, o.init.as_str()),
                    (2, 30, 10, "map")
                );
                assert_eq!(run.chains[0].len(), 10);
            }
            RunOptions::Vi(o) => {
                assert_eq!((o.steps, o.draws, o.minibatch), (200, 10, None));
                assert_eq!(run.chains[0].len(), 10);
            }
            RunOptions::Smc(o) => panic!("a {method} run read as an SMC one: {o:?}"),
        }
    }
}

#[test]
fn a_classification_written_before_the_split_loads_and_writes_back_the_same_bytes() {
    let dir = fixture("classify-v0-tutorial");
    let rec: ClassifyRecord = round_trip(&dir.join("classify.json"));
    assert_eq!(rec.assignments, [0, 0, 1, 1, 1]);
    assert_eq!((rec.method.as_str(), rec.temperature), ("exact", Some(0)));
    let run = load_classification(&dir).unwrap();
    assert_eq!(run.record, rec);
    assert_eq!((run.data.n(), run.z.len(), run.sampled), (5, 5, false));
}

#[test]
fn predictive_and_simulation_records_written_before_the_split_write_back_the_same_bytes() {
    let p: PredictiveRecord = round_trip(&fixture("sample-v0-tutorial/predictive.json"));
    assert_eq!(
        (p.sets, p.n, p.draws_used, p.draws_total),
        (4, 5, Some(4), Some(20))
    );
    assert_eq!(p.summary.len(), 1);
    let t: TruthRecord = round_trip(&fixture("simulate-v0-tutorial/truth.json"));
    assert_eq!((t.n, t.seed, t.note.as_deref()), (6, 3, None));
    let s: SimulateRecord = round_trip(&fixture("simulate-v0-tutorial/simulate.json"));
    assert_eq!((s.data.len(), s.assignments.len()), (6, 6));
    assert_eq!(s.params, t.params);
}

/// The posterior classification and the VI options with their minibatch fields, which no
/// fixture holds.
#[test]
fn the_other_record_variants_round_trip() {
    let rec = ClassifyRecord {
        assignments: vec![0, 1],
        probs: vec![vec![0.75, 0.25], vec![0.125, 0.875]],
        method: "posterior".into(),
        draws: Some(400),
        sampled_assignments: Some(vec![vec![0, 1], vec![1, 1]]),
        run: Some("run".into()),
        ..ClassifyRecord::default()
    };
    let back: ClassifyRecord = serde_json::from_slice(&json_bytes(&rec).unwrap()).unwrap();
    assert_eq!(back, rec);
    let mut summary: SampleRecord =
        serde_json::from_str(&text(&fixture("vi-v0-tutorial/summary.json"))).unwrap();
    if let Some(RunOptions::Vi(o)) = summary.options.as_mut() {
        o.minibatch = Some(64);
        o.start_sample = Some(20_000);
    }
    summary.interrupted = Some(bgmm_io::Interruption {
        asked_draws: 1000,
        kept_draws: 17,
    });
    let bytes = json_bytes(&summary).unwrap();
    let back: SampleRecord = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json_bytes(&back).unwrap(), bytes);
    // VI has no acceptance rate: null in the file, NaN in the record
    assert!(back.chains[0].mean_accept.is_nan());
    assert_eq!(back.method(), "vi");
}

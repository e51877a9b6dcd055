//! The library's API (issue 12): an invalid value of every option field is an
//! `Error::InvalidOption` naming that field; no error or message names a command-line flag;
//! every result type round-trips through serde exactly.

use bgmm::{
    ChainStats, Classification, ClassifyOptions, Data, Error, Fit, FitOptions, History, Model,
    ModelSpec, NutsOptions, Posterior, PosteriorAssignments, Resolution, SampleOptions, Simulation,
    StochasticOptions, SviOptions, Temperature, ViOptions, ViResult,
};

fn tutorial() -> (Model, Data) {
    let spec: ModelSpec = toml::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/models/tutorial.toml"
        ))
        .unwrap(),
    )
    .unwrap();
    let data = Data::from_1d(bgmm::datasets::TUTORIAL.to_vec()).unwrap();
    (spec.build(Some(1)).unwrap(), data)
}

/// `e` is an invalid `options.option`, displayed as the field's name and what is wrong, with
/// no command-line flag.
fn assert_names(e: &Error, options: &str, option: &str) {
    match e {
        Error::InvalidOption {
            options: o,
            option: f,
            message,
        } => {
            assert_eq!((*o, *f), (options, option), "{e:?}");
            assert_eq!(e.to_string(), format!("{option} {message}"));
            assert!(!message.is_empty() && !message.contains('\n'), "{e:?}");
            assert!(!e.to_string().contains("--"), "{e}");
        }
        other => panic!("{options}.{option}: not an InvalidOption: {other:?}"),
    }
}

fn bad_fit(o: FitOptions, option: &str) {
    assert_names(&o.validate().unwrap_err(), "FitOptions", option);
    let (model, data) = tutorial();
    assert_names(
        &bgmm::fit(&model, &data, &o).unwrap_err(),
        "FitOptions",
        option,
    );
}

#[test]
fn every_invalid_fit_option_names_its_field() {
    let d = FitOptions::default;
    bad_fit(FitOptions { restarts: 0, ..d() }, "restarts");
    bad_fit(
        FitOptions {
            candidates: 0,
            ..d()
        },
        "candidates",
    );
    for lr in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        bad_fit(FitOptions { lr, ..d() }, "lr");
    }
    for betas in [(1.0, 0.5), (0.5, 1.0), (-0.1, 0.5), (f64::NAN, 0.5)] {
        bad_fit(FitOptions { betas, ..d() }, "betas");
    }
    for grad_tol in [0.0, -1e-9, f64::NAN, f64::INFINITY] {
        bad_fit(FitOptions { grad_tol, ..d() }, "grad_tol");
    }
    for r in [-1.0, f64::NAN, f64::INFINITY] {
        let resolution = Resolution::Given(vec![r]);
        bad_fit(FitOptions { resolution, ..d() }, "resolution");
    }
    for w in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        bad_fit(
            FitOptions {
                weight: Some(w),
                ..d()
            },
            "weight",
        );
    }
    // a resolution per column for data of another number of columns: checked with the data
    let (model, data) = tutorial();
    let o = FitOptions {
        resolution: Resolution::Given(vec![1.0, 1.0]),
        ..d()
    };
    assert!(o.validate().is_ok());
    let e = bgmm::fit(&model, &data, &o).unwrap_err();
    assert_names(&e, "FitOptions", "resolution");
    assert_eq!(
        e.to_string(),
        "resolution has 2 values but the data have 1 column"
    );
    // the valid defaults pass, and a checked value reads as the options it holds
    assert_eq!(*d().validate().unwrap(), d());
}

#[test]
fn every_invalid_stochastic_option_names_its_field() {
    let d = StochasticOptions::default;
    let bad = |o: StochasticOptions, option| {
        assert_names(&o.validate().unwrap_err(), "StochasticOptions", option)
    };
    bad(StochasticOptions { steps: 0, ..d() }, "steps");
    for lr in [0.0, f64::NAN] {
        bad(StochasticOptions { lr, ..d() }, "lr");
    }
    bad(
        StochasticOptions {
            betas: (0.9, 1.0),
            ..d()
        },
        "betas",
    );
    for r in [0.0, 1.5, f64::NAN] {
        bad(
            StochasticOptions {
                final_lr_ratio: r,
                ..d()
            },
            "final_lr_ratio",
        );
    }
    assert!(d().validate().is_ok());
}

#[test]
fn every_invalid_sampling_option_names_its_field() {
    let d = NutsOptions::default;
    let (model, data) = tutorial();
    let bad = |nuts: NutsOptions, option| {
        assert_names(&nuts.validate().unwrap_err(), "NutsOptions", option);
        let opts = SampleOptions {
            nuts,
            ..SampleOptions::default()
        };
        assert_names(&opts.validate().unwrap_err(), "NutsOptions", option);
        // refused before any work
        assert_names(
            &bgmm::sample(&model, &data, &opts).unwrap_err(),
            "NutsOptions",
            option,
        );
    };
    bad(NutsOptions { chains: 0, ..d() }, "chains");
    bad(NutsOptions { draws: 3, ..d() }, "draws");
    for t in [0.0, 1.0, f64::NAN] {
        bad(
            NutsOptions {
                target_accept: t,
                ..d()
            },
            "target_accept",
        );
    }
    for m in [0, 31] {
        bad(
            NutsOptions {
                max_depth: m,
                ..d()
            },
            "max_depth",
        );
    }
    assert!(SampleOptions::default().validate().is_ok());
}

#[test]
fn every_invalid_vi_option_names_its_field() {
    let d = ViOptions::default;
    let (model, data) = tutorial();
    let bad = |o: ViOptions, option| {
        assert_names(&o.validate().unwrap_err(), "ViOptions", option);
        assert_names(
            &bgmm::vi(&model, &data, &o).unwrap_err(),
            "ViOptions",
            option,
        );
    };
    bad(ViOptions { steps: 0, ..d() }, "steps");
    for lr in [0.0, -1.0, f64::NAN] {
        bad(ViOptions { lr, ..d() }, "lr");
    }
    bad(
        ViOptions {
            mc_samples: 0,
            ..d()
        },
        "mc_samples",
    );
    for r in [0.0, 2.0, f64::NAN] {
        bad(
            ViOptions {
                final_lr_ratio: r,
                ..d()
            },
            "final_lr_ratio",
        );
    }
}

#[test]
fn every_invalid_classify_option_names_its_field() {
    let d = SviOptions::default;
    let (model, data) = tutorial();
    let params = bgmm::fit(&model, &data, &FitOptions::default())
        .unwrap()
        .params;
    let bad = |svi: SviOptions, option| {
        assert_names(&svi.validate().unwrap_err(), "SviOptions", option);
        let opts = ClassifyOptions {
            svi: Some(svi),
            ..ClassifyOptions::default()
        };
        let e = bgmm::classify(&model, &params, &data, &opts).unwrap_err();
        assert_names(&e, "SviOptions", option);
    };
    for lr in [0.0, f64::NAN] {
        bad(SviOptions { lr, ..d() }, "lr");
    }
    bad(
        SviOptions {
            betas: (1.0, 0.9),
            ..d()
        },
        "betas",
    );
    for r in [0.0, 1.5] {
        bad(
            SviOptions {
                final_lr_ratio: r,
                ..d()
            },
            "final_lr_ratio",
        );
    }
}

#[test]
fn an_invalid_simulation_size_names_n() {
    let (model, _) = tutorial();
    assert_names(&bgmm::simulate(&model, 0, 1).unwrap_err(), "simulate", "n");
    assert_names(
        &bgmm::simulate(&model, usize::MAX, 1).unwrap_err(),
        "simulate",
        "n",
    );
}

/// Every kind of error the library makes, displayed: none names a command-line flag.
#[test]
fn no_error_names_a_flag() {
    let (model, data) = tutorial();
    let spec = |text: &str| toml::from_str::<ModelSpec>(text).unwrap();
    let mut errors = vec![
        Data::from_columns(vec![]).unwrap_err(),
        Data::from_1d(vec![1.0, f64::NAN]).unwrap_err(),
        spec("k = 0\n[weights]\nconcentration = 1.0\n[locs]\nloc = 0.0\nscale = 1.0\n[scale]\nprior = \"lognormal\"\nmu = 0.0\nsigma = 1.0\n").build(None).unwrap_err(),
        spec("k = 2\nd = 2\n[weights]\nconcentration = 1.0\n[locs]\nloc = 0.0\nscale = 1.0\n[scale]\nprior = \"lognormal\"\nmu = 0.0\nsigma = 1.0\n").build(Some(1)).unwrap_err(),
        bgmm::Params {
            weights: vec![0.5, 0.6],
            locs: vec![0.0, 1.0],
            scales: vec![1.0],
        }
        .check(&model)
        .unwrap_err(),
        bgmm::fit(&model, &Data::from_1d(vec![1.0]).unwrap(), &FitOptions::default())
            .unwrap_err(),
        bgmm::fit(
            &model,
            &Data::from_columns(vec![vec![1.0; 5], vec![2.0; 5]]).unwrap(),
            &FitOptions::default(),
        )
        .unwrap_err(),
    ];
    // the options of every engine
    errors.push(
        FitOptions {
            restarts: 0,
            ..FitOptions::default()
        }
        .validate()
        .unwrap_err(),
    );
    errors.push(
        StochasticOptions {
            steps: 0,
            ..Default::default()
        }
        .validate()
        .unwrap_err(),
    );
    errors.push(
        NutsOptions {
            chains: 0,
            ..Default::default()
        }
        .validate()
        .unwrap_err(),
    );
    errors.push(
        ViOptions {
            mc_samples: 0,
            ..Default::default()
        }
        .validate()
        .unwrap_err(),
    );
    errors.push(
        SviOptions {
            lr: 0.0,
            ..Default::default()
        }
        .validate()
        .unwrap_err(),
    );
    errors.push(bgmm::simulate(&model, 0, 0).unwrap_err());
    // the data and a model of another dimension: a typed mismatch with the numbers
    let two = Data::from_columns(vec![vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 4.0]]).unwrap();
    let e = bgmm::fit(&model, &two, &FitOptions::default()).unwrap_err();
    assert_eq!(
        e,
        Error::DimensionMismatch {
            of: "model",
            expected: 1,
            found: 2
        }
    );
    assert_eq!(
        e.to_string(),
        "dimension mismatch: the model has d = 1 but the data have 2 columns"
    );
    errors.push(e);
    let params = bgmm::fit(&model, &data, &FitOptions::default())
        .unwrap()
        .params;
    let e = bgmm::classify(&model, &params, &two, &ClassifyOptions::default()).unwrap_err();
    assert!(
        matches!(e, Error::DimensionMismatch { of: "fit", .. }),
        "{e:?}"
    );
    errors.push(e);
    // no proper mode: integer data, a component narrower than their resolution
    let ints = Data::from_1d(vec![0.0, 0.0, 0.0, 5.0, 6.0, 7.0, 8.0, 9.0]).unwrap();
    let narrow = spec("k = 2\n[weights]\nconcentration = 1.0\n[locs]\nloc = 0.0\nscale = 10.0\n[scale]\nprior = \"lognormal\"\nmu = -8.0\nsigma = 0.5\n").build(Some(1)).unwrap();
    if let Err(e) = bgmm::fit(&narrow, &ints, &FitOptions::default()) {
        errors.push(e);
    }
    for e in &errors {
        let text = e.to_string();
        assert!(!text.contains("--"), "{e:?}: {text}");
        assert!(!text.contains('\n'), "{e:?}: {text}");
    }
}

/// The library's source: no string literal (no line that is not a comment) holds a
/// command-line flag, so no message can.
#[test]
fn no_message_in_the_source_names_a_flag() {
    let sources = [
        ("classify.rs", include_str!("../src/classify.rs")),
        ("data.rs", include_str!("../src/data.rs")),
        ("datasets.rs", include_str!("../src/datasets.rs")),
        ("density.rs", include_str!("../src/density.rs")),
        ("diagnostics.rs", include_str!("../src/diagnostics.rs")),
        ("error.rs", include_str!("../src/error.rs")),
        ("init.rs", include_str!("../src/init.rs")),
        ("kernel.rs", include_str!("../src/kernel.rs")),
        ("lib.rs", include_str!("../src/lib.rs")),
        ("map.rs", include_str!("../src/map.rs")),
        ("model.rs", include_str!("../src/model.rs")),
        ("moves.rs", include_str!("../src/moves.rs")),
        ("nuts.rs", include_str!("../src/nuts.rs")),
        ("optim.rs", include_str!("../src/optim.rs")),
        ("options.rs", include_str!("../src/options.rs")),
        ("params.rs", include_str!("../src/params.rs")),
        ("posterior.rs", include_str!("../src/posterior.rs")),
        ("simulate.rs", include_str!("../src/simulate.rs")),
        ("vi.rs", include_str!("../src/vi.rs")),
    ];
    let mut found = Vec::new();
    for (name, text) in sources {
        for (i, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            let flag_like = line.contains("--")
                || [" -n ", "\"-n ", " -k ", "\"-k "]
                    .iter()
                    .any(|f| line.contains(f));
            if flag_like {
                found.push(format!("{name}:{}: {line}", i + 1));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
    // the scan sees a flag where there is one
    assert!("\"--lr must\"".contains("--"));
}

// ---------------------------------------------------------------------------------------------
// serde of the results

/// `v` written and read back.
fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(v: &T) -> (T, String) {
    let json = serde_json::to_string(v).unwrap();
    let back: T = serde_json::from_str(&json).unwrap();
    // and written again: the same text
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    (back, json)
}

#[test]
fn a_fit_round_trips_exactly() {
    let (model, data) = tutorial();
    let f = bgmm::fit(&model, &data, &FitOptions::default()).unwrap();
    // the seed number, through the root entry point
    assert!((f.loss - 17.443255).abs() < 1e-6, "{}", f.loss);
    let (back, _) = round_trip(&f);
    assert_eq!(back, f);
    let (h, _) = round_trip(&f.history);
    assert_eq!(h, f.history);
    // a loss that is not finite is written as a string and read back exactly
    let inf = Fit {
        loss: f64::INFINITY,
        grad_norm: f64::NAN,
        ..f.clone()
    };
    let (back, json) = round_trip(&inf);
    assert!(json.contains("\"loss\":\"inf\"") && json.contains("\"grad_norm\":\"NaN\""));
    assert_eq!(back.loss, f64::INFINITY);
    assert!(back.grad_norm.is_nan());
}

#[test]
fn history_writes_what_is_not_a_number_as_such_and_reads_null_as_nan() {
    let mut h = History {
        loss: vec![1.5, f64::NAN],
        restart_loss: vec![f64::INFINITY, 2.0],
        candidate_loss: vec![(3, f64::NEG_INFINITY)],
        ..History::default()
    };
    h.grad_norm.insert("scale".into(), vec![f64::INFINITY, 0.5]);
    let json = serde_json::to_string(&h).unwrap();
    // never `null`, which no reader of a number takes back (issue 13: a fit with an extreme
    // prior wrote null into its history and no command could read the fit)
    assert!(!json.contains("null"), "{json}");
    assert!(json.contains("\"loss\":[1.5,\"NaN\"]"), "{json}");
    assert!(json.contains("\"restart_loss\":[\"inf\",2.0]"), "{json}");
    assert!(
        json.contains("\"grad_norm\":{\"scale\":[\"inf\",0.5]}"),
        "{json}"
    );
    assert!(json.contains("\"candidate_loss\":[[3,\"-inf\"]]"), "{json}");
    let back: History = serde_json::from_str(&json).unwrap();
    assert_eq!(back.loss[0], 1.5);
    assert!(back.loss[1].is_nan());
    assert_eq!(back.restart_loss, [f64::INFINITY, 2.0]);
    assert_eq!(back.grad_norm["scale"], [f64::INFINITY, 0.5]);
    assert_eq!(back.candidate_loss, [(3, f64::NEG_INFINITY)]);
    // fit.json files written before, with null, keep loading: null is NaN
    let old = json.replace("\"NaN\"", "null").replace("\"inf\"", "null");
    let back: History = serde_json::from_str(&old).unwrap();
    assert!(back.loss[1].is_nan() && back.restart_loss[0].is_nan());
    assert!(back.grad_norm["scale"][0].is_nan());
}

#[test]
fn a_posterior_round_trips_exactly() {
    let (model, data) = tutorial();
    let opts = SampleOptions {
        nuts: NutsOptions {
            chains: 2,
            warmup: 100,
            draws: 30,
            seed: 5,
            ..NutsOptions::default()
        },
        ..SampleOptions::default()
    };
    let post = bgmm::sample(&model, &data, &opts).unwrap();
    let (back, _) = round_trip::<Posterior>(&post);
    // no NaN in a NUTS posterior: equal as values
    assert_eq!(back, post);
    let (stats, _) = round_trip(&post.chain_stats);
    assert_eq!(stats, post.chain_stats);
    let (summary, _) = round_trip(&post.summary);
    assert_eq!(summary, post.summary);
    let (chains, _) = round_trip(&post.chains);
    assert_eq!(chains, post.chains);
    let pa = bgmm::assignment_probabilities(&model, &data, &post, true, 1).unwrap();
    let (back, _) = round_trip::<PosteriorAssignments>(&pa);
    assert_eq!(back, pa);
}

#[test]
fn a_vi_posterior_round_trips_with_its_nans() {
    let (model, data) = tutorial();
    let opts = ViOptions {
        steps: 300,
        draws: 20,
        ..ViOptions::default()
    };
    let (post, res) = bgmm::vi(&model, &data, &opts).unwrap();
    let (back, json) = round_trip(&post);
    // a VI "chain" has no acceptance and no energy: NaN, written as "NaN" in the chain and as
    // null (the records' format) in the chain statistics
    assert!(json.contains("\"accept\":[\"NaN\""), "{}", &json[..200]);
    assert!(json.contains("\"mean_accept\":null"));
    assert!(back.chains[0].accept.iter().all(|a| a.is_nan()));
    assert!(back.chain_stats[0].mean_accept.is_nan());
    assert_eq!(back.draws, post.draws);
    assert_eq!(back.summary, post.summary);
    assert_eq!(back.chains[0].logp, post.chains[0].logp);
    let (r, _) = round_trip(&res);
    assert_eq!(r, res);
    // an ELBO of −∞ (a step with no finite draw) is kept exactly
    let mut res = res;
    res.elbo[0] = f64::NEG_INFINITY;
    res.elbo[1] = f64::NAN;
    let (r, json) = round_trip::<ViResult>(&res);
    assert!(json.contains("\"elbo\":[\"-inf\",\"NaN\","));
    assert_eq!(r.elbo[0], f64::NEG_INFINITY);
    assert!(r.elbo[1].is_nan());
    assert_eq!(r.elbo[2..], res.elbo[2..]);
    // ChainStats read from a record with null
    let s: ChainStats = serde_json::from_str(
        r#"{"divergences":0,"mean_tree_depth":0.0,"step_size":0.0,"mean_leapfrog":0.0,"mean_accept":null}"#,
    )
    .unwrap();
    assert!(s.mean_accept.is_nan());
}

#[test]
fn classifications_and_simulations_round_trip_exactly() {
    let (model, data) = tutorial();
    let params = bgmm::fit(&model, &data, &FitOptions::default())
        .unwrap()
        .params;
    let exact = bgmm::classify(&model, &params, &data, &ClassifyOptions::default()).unwrap();
    assert_eq!(exact.svi_loss, None);
    let (back, json) = round_trip::<Classification>(&exact);
    assert_eq!(back, exact);
    assert!(!json.contains("svi_loss"));
    let svi = ClassifyOptions {
        temperature: Temperature::One,
        seed: 3,
        svi: Some(SviOptions {
            steps: 200,
            ..SviOptions::default()
        }),
    };
    let c = bgmm::classify(&model, &params, &data, &svi).unwrap();
    assert_eq!(c.svi_loss.as_ref().map(Vec::len), Some(200));
    // the assignments are drawn from the trained probabilities, which are near the exact ones
    assert_eq!(c.assignments, bgmm::assign(&c.probs, Temperature::One, 3));
    for (q, p) in c.probs.iter().zip(&exact.probs) {
        for (a, b) in q.iter().zip(p) {
            assert!((a - b).abs() < 0.05, "{a} vs {b}");
        }
    }
    let (back, _) = round_trip(&c);
    assert_eq!(back, c);
    let sim = bgmm::simulate(&model, 50, 7).unwrap();
    let (back, _) = round_trip::<Simulation>(&sim);
    assert_eq!(back, sim);
    // data that are no data are refused on reading
    let mut v: serde_json::Value = serde_json::to_value(&sim).unwrap();
    v["data"] = serde_json::json!([[]]);
    assert!(serde_json::from_value::<Simulation>(v).is_err());
}

/// The fit's options that are not about the search: a likelihood weight of 2 is the data
/// given twice, and a progress callback changes nothing but is called.
#[test]
fn weight_and_progress_options_of_the_fit() {
    let (model, data) = tutorial();
    let a = bgmm::fit(&model, &data, &FitOptions::default()).unwrap();
    let w = FitOptions {
        weight: Some(2.0),
        ..FitOptions::default()
    };
    let c = bgmm::fit(&model, &data, &w).unwrap();
    let twice: Vec<f64> = data.col(0).iter().chain(data.col(0)).copied().collect();
    let doubled = Data::from_1d(twice).unwrap();
    let d = bgmm::fit(&model, &doubled, &FitOptions::default()).unwrap();
    assert!(
        (c.loss - d.loss).abs() < 1e-9 * d.loss.abs(),
        "{} vs {}",
        c.loss,
        d.loss
    );
    for (x, y) in c.params.locs.iter().zip(&d.params.locs) {
        assert!((x - y).abs() < 1e-5, "{x} vs {y}");
    }
    assert!(c.loss != a.loss);
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = seen.clone();
    let p = FitOptions {
        progress: Some(bgmm::Callback::new(move |_| {
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })),
        ..FitOptions::default()
    };
    let e = bgmm::fit(&model, &data, &p).unwrap();
    assert_eq!(e, a);
    assert!(seen.load(std::sync::atomic::Ordering::Relaxed) > 0);
}

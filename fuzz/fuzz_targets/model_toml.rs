//! A model file: TOML text -> `ModelSpec` (as `bgmm simulate|describe|fit MODEL` read it) ->
//! `build`; a model that builds is then described, simulated from, its log density and
//! gradient evaluated and a very short MAP fit run, so that a validation gap which only
//! panics later is caught here. Errors are fine; a panic is a bug.
#![no_main]

use bgmm::map::{fit, FitOptions};
use bgmm::simulate::{simulate, sites};
use bgmm::{LogDensity, MixtureDensity};
use bgmm_io::model_spec_from_str;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    // The CLI reads the file with read_to_string: bytes that are not UTF-8 stop there.
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let spec = match model_spec_from_str(text, "fuzz.toml") {
        Ok(s) => s,
        Err(e) => {
            assert!(!e.to_string().contains('\n'), "multi-line error: {e}");
            return;
        }
    };
    for data_dim in [None, Some(1), Some(2)] {
        let Ok(model) = spec.build(data_dim) else {
            continue;
        };
        // describe (text and JSON)
        let s = sites(&model, 10);
        let _ = bgmm_io::sites_text(&model, &s);
        let _ = serde_json::to_string(&serde_json::json!({"model": model.spec(), "sites": s}));
        let _ = model.constrained_names();
        // The rest costs O(K·D) per call: keep it to small models.
        if model.k * model.d > 64 {
            continue;
        }
        let Ok(sim) = simulate(&model, 12, 7) else {
            continue;
        };
        let _ = bgmm_io::params_text(&model, &sim.params);
        let shaped = sim.params.shaped(&model);
        let _ = bgmm::Params::from_shaped(&model, &shaped);
        let dens = MixtureDensity::new(&model, &sim.data, true);
        let x = dens.transform().pack(&sim.params);
        let mut grad = vec![0.0; dens.dim()];
        let _ = dens.logp_grad(&x, &mut grad);
        let _ = bgmm::classify::classify(
            &model,
            &sim.params,
            &sim.data,
            bgmm::classify::Temperature::One,
            3,
        );
        let opts = FitOptions {
            restarts: 2,
            candidates: 1,
            steps: 5,
            max_polish_iter: 5,
            ..FitOptions::default()
        };
        let _ = fit(&model, &sim.data, &opts);
    }
});

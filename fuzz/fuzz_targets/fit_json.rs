//! A fit record (`fit.json`, as `classify`, `predict`, `sample --from-fit`, `plot` and
//! `report` read it): JSON text -> `cli::fit_from_str` (record, model, parameters); a fit
//! that loads is then printed, used to classify a few points and to draw predictive data.
//! Errors are fine (and must be one line); a panic is a bug.
#![no_main]

use bgmm::classify::{classify, Temperature};
use bgmm::Data;
use bgmm_io::fit_from_str;
use chacha20::ChaCha8Rng;
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let (rec, model, params) = match fit_from_str(text, "fit.json") {
        Ok(f) => f,
        Err(e) => {
            let m = e.to_string();
            assert!(!m.contains('\n'), "multi-line error: {m:?}");
            return;
        }
    };
    let _ = bgmm_io::params_text(&model, &params);
    let _ = serde_json::to_string(&rec.params);
    if model.k * model.d > 4096 {
        return;
    }
    let data = Data::from_columns(vec![vec![-1.5, 0.0, 2.0, 40.0]; model.d]).unwrap();
    for t in [Temperature::Zero, Temperature::One] {
        let _ = classify(&model, &params, &data, t, 5);
    }
    let _ = bgmm::density::log_joint(&model, &data, &params);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let _ = bgmm::simulate::draw_data(&model, &params, 6, &mut rng);
});

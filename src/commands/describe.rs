//! `bgmm describe`: every site of a model with its distribution and shape.

use anyhow::Result;

use bgmm::simulate::sites;
use bgmm_io::{json_bytes, load_model_spec, sites_text};

use crate::args::DescribeArgs;
use crate::common::build_model;

/// Run `bgmm describe`.
pub fn run(a: DescribeArgs) -> Result<()> {
    let origin = format!("model file '{}'", a.model.display());
    let spec = load_model_spec(&a.model)?;
    let model = build_model(&spec, &origin, None)?;
    let s = sites(&model, a.n);
    if a.json {
        let v = serde_json::json!({"model": model.spec(), "n": a.n, "sites": s});
        print!("{}", String::from_utf8(json_bytes(&v)?)?);
    } else {
        print!("{}", sites_text(&model, &s));
    }
    Ok(())
}

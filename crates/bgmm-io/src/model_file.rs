//! Model files (TOML): read, with errors that name the file, line and column.

use std::path::Path;

use anyhow::{anyhow, bail, Result};

use bgmm::ModelSpec;

/// Model files larger than this are refused (64 MiB; the examples are under 1 kB).
pub const MAX_MODEL_BYTES: u64 = 64 << 20;

/// Read and validate a model file; errors name the file and, for TOML syntax, line and column.
pub fn load_model_spec(path: &Path) -> Result<ModelSpec> {
    use std::io::Read;
    let shown = crate::input::clean(&path.display().to_string());
    let cannot = |e: std::io::Error| anyhow!("cannot read model file '{shown}': {e}");
    // at most MAX_MODEL_BYTES (a device such as /dev/zero is not read forever)
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_MODEL_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_MODEL_BYTES {
        bail!("model file '{shown}' is larger than {MAX_MODEL_BYTES} bytes: is it a model file?");
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        cannot(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
    })?;
    model_spec_from_str(&text, &shown)
}

/// [`load_model_spec`] on the file's text; `shown` names the file in errors.
pub fn model_spec_from_str(text: &str, shown: &str) -> Result<ModelSpec> {
    if text.trim().is_empty() {
        bail!("model file '{shown}' is empty");
    }
    toml::from_str::<ModelSpec>(text).map_err(|e| {
        let msg = crate::input::shorten(&e.message().replace('\n', " "));
        match e.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                // the line itself, so that the key is named
                let text: String = text
                    .lines()
                    .nth(line - 1)
                    .unwrap_or("")
                    .trim()
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(60)
                    .collect();
                if text.is_empty() {
                    anyhow!("model file '{shown}', line {line}, column {col}: {msg}")
                } else {
                    anyhow!("model file '{shown}', line {line}, column {col} ({text}): {msg}")
                }
            }
            None => anyhow!("model file '{shown}': {msg}"),
        }
    })
}

/// The default model of `k` components of `family` for `data` ([`ModelSpec::quick`]: the
/// CLI's `-k K --covariance F`, the Python estimator's `n_components` and `covariance`),
/// refused when a column's values are beyond it: its location prior spans 10 standard
/// deviations of each column, which overflow a float beyond about 1e307, and the data, not
/// `k`, are to blame. `shown` names the data in the message (`data 'x.csv'`).
pub fn default_model_spec(
    k: i64,
    family: bgmm::CovarianceFamily,
    data: &bgmm::Data,
    shown: &str,
) -> Result<ModelSpec> {
    let largest = |j: usize| data.col(j).iter().fold(0.0f64, |m, v| m.max(v.abs()));
    default_model_spec_of(k, family, &data.column_mean_sd(), largest, shown)
}

/// [`default_model_spec`] of data summarised elsewhere (partitions: [`bgmm::DataSummary`]):
/// each column's mean and standard deviation, and its largest magnitude for the message.
pub fn default_model_spec_of(
    k: i64,
    family: bgmm::CovarianceFamily,
    mean_sd: &[(f64, f64)],
    largest: impl Fn(usize) -> f64,
    shown: &str,
) -> Result<ModelSpec> {
    let spec = ModelSpec::quick_from(k, family, mean_sd);
    let spans = match &spec.locs.scale {
        bgmm::OneOrMany::Many(v) => v.clone(),
        bgmm::OneOrMany::One(v) => vec![*v; mean_sd.len()],
    };
    if let Some(j) = spans.iter().position(|s| !s.is_finite()) {
        let top = largest(j);
        bail!(
            "{shown}, column {}: values up to {top:e} are beyond the default model (10 standard deviations of the column overflow a float); rescale the data, or give a model file",
            j + 1
        );
    }
    Ok(spec)
}

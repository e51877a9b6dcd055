//! Model files (TOML): read, with errors that name the file, line and column.

use std::path::Path;

use anyhow::{anyhow, bail, Result};

use bgmm::ModelSpec;

/// Read and validate a model file; errors name the file and, for TOML syntax, line and column.
pub fn load_model_spec(path: &Path) -> Result<ModelSpec> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("cannot read model file '{shown}': {e}"))?;
    model_spec_from_str(&text, &shown.to_string())
}

/// [`load_model_spec`] on the file's text; `shown` names the file in errors.
pub fn model_spec_from_str(text: &str, shown: &str) -> Result<ModelSpec> {
    if text.trim().is_empty() {
        bail!("model file '{shown}' is empty");
    }
    toml::from_str::<ModelSpec>(text).map_err(|e| {
        let msg = e.message().replace('\n', " ");
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

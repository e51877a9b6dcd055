//! The library's errors in Python's words: bad input and invalid options raise `ValueError`,
//! a fit or run that fails raises `RuntimeError`, memory `MemoryError`, a stopped run
//! `KeyboardInterrupt`; the messages are the CLI's one-liners with each option named by the
//! Python parameter that sets it.

use pyo3::exceptions::{PyKeyboardInterrupt, PyMemoryError, PyRuntimeError, PyValueError};
use pyo3::PyErr;

/// (options struct, field, Python parameter) where the parameter's name differs.
const PARAMETERS: &[(&str, &str, &str)] = &[
    ("FitOptions", "restarts", "n_restarts"),
    ("FitOptions", "candidates", "n_candidates"),
    ("FitOptions", "seed", "random_state"),
    ("NutsOptions", "seed", "random_state"),
    ("ViOptions", "seed", "random_state"),
    ("SelectOptions", "ks", "k"),
    ("SelectOptions", "families", "covariance"),
    ("simulate", "n", "n_samples"),
];

/// What the library's messages suggest (a field between backticks), in Python's words.
const SUGGESTIONS: &[(&str, &str)] = &[
    ("`seed`", "`random_state`"),
    ("`restarts`", "`n_restarts`"),
    ("set `resolution` to 0", "set `resolution=0`"),
];

fn parameter(options: &str, option: &'static str) -> &'static str {
    PARAMETERS
        .iter()
        .find(|(o, f, _)| *o == options && *f == option)
        .map_or(option, |(_, _, p)| p)
}

/// A library message with the options it suggests named by their Python parameters.
pub fn rewrite(text: &str) -> String {
    SUGGESTIONS
        .iter()
        .fold(text.to_string(), |t, (from, to)| t.replace(from, to))
}

/// `ValueError(message)`.
pub fn value_err(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(rewrite(&message.into()))
}

/// The Python exception of a library error.
pub fn py_err(e: bgmm::Error) -> PyErr {
    use bgmm::Error::*;
    match e {
        InvalidOption {
            options,
            option,
            message,
        } => PyValueError::new_err(format!(
            "{} {}",
            parameter(options, option),
            rewrite(&message)
        )),
        e @ (Model(_) | Data(_) | DimensionMismatch { .. } | Params(_)) => {
            PyValueError::new_err(rewrite(&e.to_string()))
        }
        OutOfMemory {
            bytes,
            what,
            option: Some((options, option)),
        } => PyMemoryError::new_err(
            OutOfMemory {
                bytes,
                what,
                option: None,
            }
            .to_string()
            .replace(
                ": out of memory",
                &format!(" (`{}`): out of memory", parameter(options, option)),
            ),
        ),
        e @ OutOfMemory { .. } => PyMemoryError::new_err(e.to_string()),
        Interrupted(m) => PyKeyboardInterrupt::new_err(m),
        e @ (Numerical(_) | Unbounded(_) | NoProperMode(_)) => {
            PyRuntimeError::new_err(rewrite(&e.to_string()))
        }
    }
}

//! The libraries' errors and warnings in the command line's words: a library names an option
//! by its field (`restarts`, `steps` of `StochasticOptions`; bgmm-io's `columns` of a data
//! spec), the CLI by its flag (`--restarts`, `--sgd-steps`, `--columns`). One table maps the one
//! to the other.

use anyhow::anyhow;

/// (options struct, field, flag) for every option a command sets.
const FLAGS: &[(&str, &str, &str)] = &[
    ("FitOptions", "restarts", "--restarts"),
    ("FitOptions", "candidates", "--candidates"),
    ("FitOptions", "steps", "--steps"),
    ("FitOptions", "lr", "--lr"),
    ("FitOptions", "betas", "--betas"),
    ("FitOptions", "grad_tol", "--grad-tol"),
    ("FitOptions", "seed", "--seed"),
    ("FitOptions", "resolution", "--resolution"),
    ("StochasticOptions", "steps", "--sgd-steps"),
    ("StochasticOptions", "lr", "--sgd-lr"),
    ("NutsOptions", "chains", "--chains"),
    ("NutsOptions", "warmup", "--warmup"),
    ("NutsOptions", "draws", "--draws"),
    ("NutsOptions", "seed", "--seed"),
    ("NutsOptions", "target_accept", "--target-accept"),
    ("NutsOptions", "max_depth", "--max-depth"),
    ("ViOptions", "steps", "--steps"),
    ("ViOptions", "lr", "--lr"),
    ("ViOptions", "mc_samples", "--mc-samples"),
    ("ViOptions", "seed", "--seed"),
    ("ViOptions", "draws", "--draws"),
    ("SmcOptions", "runs", "--chains"),
    ("SmcOptions", "particles", "--draws"),
    ("SmcOptions", "seed", "--seed"),
    ("SmcOptions", "ess_ratio", "--ess-ratio"),
    ("SmcOptions", "target_accept", "--target-accept"),
    ("SmcOptions", "min_sweeps", "--sweeps"),
    ("SmcOptions", "max_sweeps", "--sweeps"),
    ("SviOptions", "steps", "--svi-steps"),
    ("simulate", "n", "-n"),
    ("SelectOptions", "ks", "-k"),
    ("SelectOptions", "families", "--covariance"),
];

/// What the library's messages suggest, an option's field between backticks, in the
/// command line's words (longest first, so that a phrase is rewritten before its field).
const SUGGESTIONS: &[(&str, &str)] = &[
    // bgmm-io: the minibatch fit's options and the data spec's column selection
    ("minibatch fitting reads", "--minibatch reads"),
    ("minibatch `batch`", "--minibatch"),
    ("minibatch `steps`", "--sgd-steps"),
    ("minibatch `lr`", "--sgd-lr"),
    ("`columns`", "--columns"),
    ("set `resolution` to 0", "--resolution 0"),
    ("`target_accept`", "--target-accept"),
    ("`grad_tol`", "--grad-tol"),
    ("`engine` smc", "--engine smc"),
    ("`warmup`", "--warmup"),
    ("`draws`", "--draws"),
    ("`seed`", "--seed"),
];

/// The flag of field `option` of the options struct `options` (the field's name if no
/// command sets it).
fn flag(options: &str, option: &'static str) -> &'static str {
    FLAGS
        .iter()
        .find(|(o, f, _)| *o == options && *f == option)
        .map_or(option, |(_, _, flag)| flag)
}

/// A library message (an error's or a warning) with the options it suggests named by their
/// flags.
pub(crate) fn rewrite(text: &str) -> String {
    SUGGESTIONS
        .iter()
        .fold(text.to_string(), |t, (from, to)| t.replace(from, to))
}

/// The CLI's message of a library error.
pub(crate) fn message(e: &bgmm::Error) -> String {
    match e {
        bgmm::Error::InvalidOption {
            options,
            option,
            message,
        } => format!("{} {message}", flag(options, option)),
        bgmm::Error::OutOfMemory {
            option: Some((options, option)),
            ..
        } => e.to_string().replace(
            &format!("(`{option}`)"),
            &format!("({})", flag(options, option)),
        ),
        e => rewrite(&e.to_string()),
    }
}

/// The CLI's error of a library error.
pub(crate) fn cli_error(e: bgmm::Error) -> anyhow::Error {
    anyhow!(message(&e))
}

/// The CLI's error of an error from a library above the core (`bgmm-io`), which keeps the
/// core's errors typed inside: those get the CLI's words, the others pass as they are.
pub(crate) fn from_anyhow(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<bgmm::Error>() {
        Ok(e) => cli_error(e),
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_named_by_their_flags() {
        let e = |options, option| bgmm::Error::InvalidOption {
            options,
            option,
            message: "must be at least 1".into(),
        };
        assert_eq!(
            message(&e("StochasticOptions", "steps")),
            "--sgd-steps must be at least 1"
        );
        assert_eq!(
            message(&e("FitOptions", "steps")),
            "--steps must be at least 1"
        );
        assert_eq!(
            message(&e("FitOptions", "restarts")),
            "--restarts must be at least 1"
        );
        assert_eq!(message(&e("simulate", "n")), "-n must be at least 1");
        let oom = bgmm::limits::out_of_memory(
            320_000_000_000,
            "4000000000 restarts",
            Some(("FitOptions", "restarts")),
        );
        assert_eq!(
            message(&oom),
            "cannot allocate 320.0 GB for 4000000000 restarts (--restarts): out of memory"
        );
        // an option no command sets keeps its field's name
        assert_eq!(
            message(&e("FitOptions", "weight")),
            "weight must be at least 1"
        );
        assert_eq!(
            rewrite("use fewer components, or set `resolution` to 0 to keep such a mode"),
            "use fewer components, or --resolution 0 to keep such a mode"
        );
        assert_eq!(
            rewrite("data file 'x' has no column 'b' (`columns`; available: a)"),
            "data file 'x' has no column 'b' (--columns; available: a)"
        );
        assert_eq!(
            rewrite("minibatch `steps` must be at least 1"),
            "--sgd-steps must be at least 1"
        );
        assert_eq!(
            rewrite("minibatch fitting reads a data file (CSV or .npy), not 'builtin:iris'"),
            "--minibatch reads a data file (CSV or .npy), not 'builtin:iris'"
        );
        assert_eq!(
            rewrite("another `seed` or a looser `grad_tol` may help"),
            "another --seed or a looser --grad-tol may help"
        );
    }
}

//! Resource limits: the upper bounds of the options that size memory or threads (checked by
//! the options' `validate`, before any work), and fallible reservation for allocations sized
//! by the input or an option, so that running out of memory is an
//! [`crate::Error::OutOfMemory`] naming what was asked for, not an abort.
//!
//! ```
//! use bgmm::limits;
//! let mut v: Vec<f64> = Vec::new();
//! let e = limits::reserve(&mut v, usize::MAX / 16, || "the draws".into(), None).unwrap_err();
//! assert!(e.to_string().starts_with("cannot allocate "), "{e}");
//! ```

use crate::error::{Error, Result};

/// Most initial points screened by a MAP search (`restarts`).
pub const MAX_RESTARTS: usize = 1_000_000;
/// Most candidates optimised by a MAP search (`candidates`).
pub const MAX_CANDIDATES: usize = 10_000;
/// Most optimisation steps (Adam, SGD or VI `steps`): each keeps its loss in the history.
pub const MAX_STEPS: usize = 100_000_000;
/// Most chains of a sampling run (`chains`), one thread each.
pub const MAX_CHAINS: usize = 256;
/// Most kept draws per chain (`draws` of a sampling run or of VI).
pub const MAX_DRAWS: u64 = 100_000_000;
/// Most warmup iterations per chain (`warmup`).
pub const MAX_WARMUP: u64 = 100_000_000;
/// Most Monte Carlo draws per VI step (`mc_samples`).
pub const MAX_MC_SAMPLES: usize = 100_000;

pub use crate::error::human_bytes;

/// The [`Error::OutOfMemory`] of `bytes` for `what`, sized by `option` (its options struct and
/// field) if an option sized it.
pub fn out_of_memory(
    bytes: u128,
    what: impl Into<String>,
    option: Option<(&'static str, &'static str)>,
) -> Error {
    Error::OutOfMemory {
        bytes,
        what: what.into(),
        option,
    }
}

/// Reserve room for `additional` more elements in `v` (exactly), or the
/// [`Error::OutOfMemory`] naming `what` (and `option`, if an option sized it).
pub fn reserve<T>(
    v: &mut Vec<T>,
    additional: usize,
    what: impl FnOnce() -> String,
    option: Option<(&'static str, &'static str)>,
) -> Result<()> {
    v.try_reserve_exact(additional).map_err(|_| {
        let bytes = (additional as u128) * (std::mem::size_of::<T>().max(1) as u128);
        out_of_memory(bytes, what(), option)
    })
}

/// A vector with room for `n` elements (see [`reserve`]).
pub fn with_capacity<T>(
    n: usize,
    what: impl FnOnce() -> String,
    option: Option<(&'static str, &'static str)>,
) -> Result<Vec<T>> {
    let mut v = Vec::new();
    reserve(&mut v, n, what, option)?;
    Ok(v)
}

/// `n` copies of `value` (see [`reserve`]).
pub fn filled<T: Clone>(
    n: usize,
    value: T,
    what: impl FnOnce() -> String,
    option: Option<(&'static str, &'static str)>,
) -> Result<Vec<T>> {
    let mut v = with_capacity(n, what, option)?;
    v.resize(n, value);
    Ok(v)
}

/// Check that `bytes` can be had for `what` (sized by `option`) before work that builds
/// many small allocations of that total (draws, restarts), by reserving and releasing them.
pub fn probe(
    bytes: u128,
    what: impl FnOnce() -> String,
    option: Option<(&'static str, &'static str)>,
) -> Result<()> {
    let fail = |what: String| out_of_memory(bytes, what, option);
    let Ok(n) = usize::try_from(bytes) else {
        return Err(fail(what()));
    };
    let mut v: Vec<u8> = Vec::new();
    v.try_reserve_exact(n).map_err(|_| fail(what()))
}

/// Push `value`, growing `v` fallibly (doubling, as `push` does).
pub fn push<T>(v: &mut Vec<T>, value: T, what: impl FnOnce() -> String) -> Result<()> {
    if v.len() == v.capacity() {
        let more = v.capacity().max(4);
        if v.try_reserve(more).is_err() && v.try_reserve(1).is_err() {
            let bytes = (v.len() as u128 + more as u128) * std::mem::size_of::<T>().max(1) as u128;
            return Err(out_of_memory(bytes, what(), None));
        }
    }
    v.push(value);
    Ok(())
}

/// Check that `value` is at most `max`: the message of an [`Error::InvalidOption`] otherwise.
pub(crate) fn at_most(value: u64, max: u64) -> Option<String> {
    (value > max).then(|| format!("must be at most {max}, got {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(0), "0 bytes");
        assert_eq!(human_bytes(999), "999 bytes");
        assert_eq!(human_bytes(3_100_000_000), "3.1 GB");
        assert_eq!(human_bytes(320_000_000_000), "320.0 GB");
    }

    #[test]
    fn an_impossible_reservation_is_an_error_naming_what_and_the_option() {
        let mut v: Vec<f64> = Vec::new();
        let e = reserve(
            &mut v,
            usize::MAX / 8,
            || "4000000000 restarts".into(),
            Some(("FitOptions", "restarts")),
        )
        .unwrap_err();
        let m = e.to_string();
        assert!(m.starts_with("cannot allocate "), "{m}");
        assert!(m.contains("for 4000000000 restarts (`restarts`)"), "{m}");
        assert!(matches!(
            e,
            Error::OutOfMemory {
                option: Some((_, "restarts")),
                ..
            }
        ));
        let mut w: Vec<u8> = Vec::new();
        push(&mut w, 1, || "x".into()).unwrap();
        assert_eq!(w, [1]);
        assert_eq!(filled(3, 2.0, || "x".into(), None).unwrap(), [2.0; 3]);
        assert_eq!(at_most(5, 4).unwrap(), "must be at most 4, got 5");
        assert_eq!(at_most(4, 4), None);
    }
}

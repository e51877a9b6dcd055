//! Options, unchecked and checked (linfa's pattern): every engine's options struct
//! ([`crate::FitOptions`], [`crate::NutsOptions`], [`crate::SampleOptions`],
//! [`crate::ViOptions`], [`crate::SviOptions`], [`crate::StochasticOptions`]) has public fields
//! and a `Default`, and a `validate` that checks every field in one place and returns it as
//! [`Checked`], the only form the engines take. An invalid field is an
//! [`crate::Error::InvalidOption`] naming it.
//!
//! ```
//! use bgmm::{Error, FitOptions};
//! let opts = FitOptions { restarts: 0, ..FitOptions::default() };
//! match opts.validate() {
//!     Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "restarts"),
//!     other => panic!("{other:?}"),
//! }
//! let checked = FitOptions::default().validate().unwrap();
//! assert_eq!(checked.restarts, 100); // a checked value reads as the options it holds
//! ```

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Options that passed their `validate`: read them through `Deref`; only `validate` makes
/// one, so an engine taking `&Checked<O>` never sees unchecked options.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked<O>(O);

impl<O> Checked<O> {
    /// Wrap options just validated (only the options' own `validate` calls this).
    pub(crate) fn new(opts: O) -> Self {
        Checked(opts)
    }

    /// The options themselves, to change and validate again.
    pub fn into_inner(self) -> O {
        self.0
    }
}

impl<O> Deref for Checked<O> {
    type Target = O;
    fn deref(&self) -> &O {
        &self.0
    }
}

/// A progress callback carried in options (e.g. [`crate::FitOptions::progress`]), called from
/// worker threads. Two callbacks are equal when they are the same closure.
#[derive(Clone)]
pub struct Callback<T>(Arc<dyn Fn(T) + Send + Sync>);

impl<T> Callback<T> {
    /// A callback calling `f`.
    pub fn new(f: impl Fn(T) + Send + Sync + 'static) -> Self {
        Callback(Arc::new(f))
    }

    /// Call it.
    pub fn call(&self, value: T) {
        (self.0)(value)
    }
}

impl<T> fmt::Debug for Callback<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Callback")
    }
}

impl<T> PartialEq for Callback<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Checks shared by the options structs: each returns the message that follows the field's
/// name in [`crate::Error::InvalidOption`], or `None` when the value is valid.
pub(crate) mod check {
    /// At least 1.
    pub fn at_least_one(v: u64) -> Option<String> {
        (v == 0).then(|| "must be at least 1".to_string())
    }

    /// Positive and finite.
    pub fn positive_finite(v: f64) -> Option<String> {
        (!(v.is_finite() && v > 0.0)).then(|| format!("must be positive and finite, got {v}"))
    }

    /// Adam's betas, both in [0, 1).
    pub fn betas((b1, b2): (f64, f64)) -> Option<String> {
        (!((0.0..1.0).contains(&b1) && (0.0..1.0).contains(&b2)))
            .then(|| format!("must both be in [0, 1), got {b1},{b2}"))
    }

    /// A learning-rate decay ratio, in (0, 1].
    pub fn ratio(v: f64) -> Option<String> {
        (!(v > 0.0 && v <= 1.0)).then(|| format!("must be in (0, 1], got {v}"))
    }
}

/// Serde of `f64` values that may not be finite, written exactly: a finite value as a JSON
/// number, NaN and ±∞ as the strings `"NaN"`, `"inf"` and `"-inf"` (JSON has no number for
/// them, and serde_json would write `null`). Reading also takes `null`, as NaN.
pub mod float {
    use serde::de::{self, Deserializer, Visitor};
    use serde::Serializer;
    use std::fmt;

    /// Write `v`: a number, or `"NaN"`, `"inf"`, `"-inf"`.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    struct F;
    impl Visitor<'_> for F {
        type Value = f64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number, \"NaN\", \"inf\" or \"-inf\"")
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
            Ok(f64::NAN)
        }
        fn visit_none<E: de::Error>(self) -> Result<f64, E> {
            Ok(f64::NAN)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            match v {
                "NaN" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
    }

    /// Read a number, `null` or `"NaN"` (NaN), `"inf"`, `"-inf"`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        d.deserialize_any(F)
    }

    /// The same for a `Vec<f64>`.
    pub mod vec {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        #[derive(Serialize, Deserialize)]
        struct Float(#[serde(with = "super")] f64);

        /// Write each value as [`super::serialize`] does.
        pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(|x| Float(*x)))
        }

        /// Read each value as [`super::deserialize`] does.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
            Ok(Vec::<Float>::deserialize(d)?
                .into_iter()
                .map(|f| f.0)
                .collect())
        }
    }

    /// The same for a map of names to `Vec<f64>`.
    pub mod map {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};
        use std::collections::BTreeMap;

        #[derive(Serialize, Deserialize)]
        struct Floats(#[serde(with = "super::vec")] Vec<f64>);

        /// Write each value as [`super::serialize`] does.
        pub fn serialize<S: Serializer>(
            v: &BTreeMap<String, Vec<f64>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            s.collect_map(v.iter().map(|(k, x)| (k, Floats(x.clone()))))
        }

        /// Read each value as [`super::deserialize`] does.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<BTreeMap<String, Vec<f64>>, D::Error> {
            Ok(BTreeMap::<String, Floats>::deserialize(d)?
                .into_iter()
                .map(|(k, f)| (k, f.0))
                .collect())
        }
    }

    /// The same for `(index, value)` pairs.
    pub mod pairs {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        #[derive(Serialize, Deserialize)]
        struct Pair(usize, #[serde(with = "super")] f64);

        /// Write each value as [`super::serialize`] does.
        pub fn serialize<S: Serializer>(v: &[(usize, f64)], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(|&(i, x)| Pair(i, x)))
        }

        /// Read each value as [`super::deserialize`] does.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(usize, f64)>, D::Error> {
            Ok(Vec::<Pair>::deserialize(d)?
                .into_iter()
                .map(|p| (p.0, p.1))
                .collect())
        }
    }
}

/// Reading `f64` values of record types whose writing is fixed (the CLI's files have them):
/// serde_json writes a value that is not finite as `null`; it reads back as NaN (an infinity
/// thus comes back as NaN).
pub(crate) mod nullable {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

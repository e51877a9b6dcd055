//! Errors of the library. Every message is one line and names what is wrong.
//!
//! Messages name the library's own terms: an option by its field name (`restarts`, `lr`), a
//! model by its keys (`sharing`), never a command-line flag. Where a message suggests changing
//! an option, the option's field name is written between backticks (`` `seed` ``), so that
//! an application can rewrite it to its own spelling of the option.

/// What can go wrong when building a model, checking data or fitting.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    /// The model description is invalid; the message names the field.
    #[error("{0}")]
    Model(String),
    /// The data are unusable for this model; the message names the row, column or size.
    #[error("{0}")]
    Data(String),
    /// The data have another number of columns than the model (or fit) has dimensions.
    #[error(
        "dimension mismatch: the {of} has d = {expected} but the data have {found} column{}",
        if *found == 1 { "" } else { "s" }
    )]
    DimensionMismatch {
        /// What has the dimension `expected`: `"model"` or `"fit"`.
        of: &'static str,
        /// The model's dimension.
        expected: usize,
        /// The data's number of columns.
        found: usize,
    },
    /// Parameters do not fit the model (wrong length, outside their support).
    #[error("{0}")]
    Params(String),
    /// An option value is invalid: `option` is the field's name in its options struct
    /// `options` (e.g. `FitOptions`), `message` what is wrong with it (displayed after the
    /// field's name: "restarts must be at least 1").
    #[error("{option} {message}")]
    InvalidOption {
        /// The options struct (`"FitOptions"`, `"NutsOptions"`, …), or the function (`"simulate"`)
        /// whose argument it is.
        options: &'static str,
        /// The field's name.
        option: &'static str,
        /// What is wrong, to follow the field's name.
        message: String,
    },
    /// Memory for something sized by the input or an option could not be reserved: `bytes`
    /// asked for `what`, sized by the field `option` of an options struct (struct, field) if
    /// an option sized it.
    #[error(
        "cannot allocate {} for {what}{}: out of memory",
        human_bytes(*bytes),
        option.map_or(String::new(), |(_, o)| format!(" (`{o}`)"))
    )]
    OutOfMemory {
        /// Bytes asked for.
        bytes: u128,
        /// What they were for ("4000000000 restarts").
        what: String,
        /// The options struct and field that sized it.
        option: Option<(&'static str, &'static str)>,
    },
    /// A computation failed (e.g. no finite starting point was found).
    #[error("{0}")]
    Numerical(String),
    /// A run was stopped on request (a raised [`crate::nuts::StopSignal`]) before it had
    /// anything to keep.
    #[error("{0}")]
    Interrupted(String),
    /// The posterior density is unbounded where the MAP search ended (a component collapsed
    /// on a point with its scale → 0), so the MAP does not exist; the message names the
    /// component, the point, the prior and the remedy.
    #[error("{0}")]
    Unbounded(String),
    /// Every mode the MAP search found is an artefact of the data's rounding (a component
    /// narrower than the resolution the data were recorded to); the message names the
    /// component and the remedy.
    #[error("{0}")]
    NoProperMode(String),
}

impl Error {
    /// An [`Error::InvalidOption`] of field `option` of `options`.
    pub(crate) fn option(
        options: &'static str,
        option: &'static str,
        message: impl Into<String>,
    ) -> Error {
        Error::InvalidOption {
            options,
            option,
            message: message.into(),
        }
    }

    /// A [`Error::DimensionMismatch`] between the `of` ("model", "fit") of dimension
    /// `expected` and data of `found` columns.
    pub(crate) fn dimensions(of: &'static str, expected: usize, found: usize) -> Error {
        Error::DimensionMismatch {
            of,
            expected,
            found,
        }
    }
}

/// `bytes` in decimal units, as a person reads them ("3.2 GB").
pub fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 7] = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Result alias of the library.
pub type Result<T> = std::result::Result<T, Error>;

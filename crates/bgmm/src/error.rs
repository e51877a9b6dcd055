//! Errors of the library. Every message is one line and names what is wrong.

/// What can go wrong when building a model, checking data or fitting.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    /// The model description is invalid; the message names the field.
    #[error("{0}")]
    Model(String),
    /// The data are unusable for this model; the message names the row, column or size.
    #[error("{0}")]
    Data(String),
    /// Parameters do not fit the model (wrong length, outside their support).
    #[error("{0}")]
    Params(String),
    /// An option value is invalid; the message names the option.
    #[error("{0}")]
    Option(String),
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

/// Result alias of the library.
pub type Result<T> = std::result::Result<T, Error>;

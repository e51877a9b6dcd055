//! One module per command; none of them uses another (what they share is in `common`).

pub mod bench;
pub mod classify;
pub mod demo;
pub mod describe;
pub mod fit;
pub mod loo;
pub mod plot;
pub mod predict;
pub mod report;
pub mod sample;
pub mod select;
pub mod simulate;
pub mod vi;

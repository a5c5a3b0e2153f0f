//! Buy-till-you-die: the repeat-purchase summary that BG/NBD, Pareto/NBD and
//! Gamma-Gamma models are fitted on.

mod summary;

pub use summary::{btyd_summary, BtydSummary, Holdout, SummaryParams};

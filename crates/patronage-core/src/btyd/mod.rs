//! Buy-till-you-die: the repeat-purchase summary, and the models fitted on
//! it: BG/NBD and its modified variant, Pareto/NBD (purchases and dropout),
//! Gamma-Gamma (spend) and customer lifetime value.

mod bgnbd;
mod clv;
mod codes;
pub mod data;
mod gamma_gamma;
pub mod identification;
pub mod integrals;
mod mle;
mod pareto;
mod quadrature;
pub mod special;
mod summary;

pub use bgnbd::{BetaGeo, BetaGeoParams, FitInfo, ValidBetaGeoParams};
pub use clv::{customer_lifetime_value, value_if_alive, ClvParams, Purchases, MAX_HORIZON_MONTHS};
pub use data::{RfmData, SpendData};
pub use gamma_gamma::{
    gamma_gamma_sums, spend_spread, spend_totals, GammaGamma, GammaGammaParams, SpendTotals,
    ValidGammaGammaParams, GAMMA_GAMMA_SUMS,
};
pub use identification::{DeterminedQuantity, FitIssue, IssueKind};
pub use pareto::{ParetoNbd, ParetoNbdParams, ValidParetoNbdParams};
pub use summary::{btyd_summary, BtydSummary, Holdout, SummaryParams};

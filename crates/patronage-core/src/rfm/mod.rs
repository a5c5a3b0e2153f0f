//! RFM: recency, frequency and monetary profiles of every customer, their
//! 1..bins scores and the named segments CRM teams act on.

mod scores;
mod table;

pub use scores::{fm_score, quantile_scores, segment_of, SEGMENTS, SEGMENT_GRID};
pub use table::{rfm_table, RfmTable};

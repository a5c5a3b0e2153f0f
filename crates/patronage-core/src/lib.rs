//! # patronage-core
//!
//! Customer analytics in pure Rust. The pipeline an analyst runs:
//!
//! ```text
//! transactions (customer code, day, amount)
//!     -> rfm      per-customer profiles, RFM scores and named segments
//!     -> btyd     buy-till-you-die summaries (frequency, recency, T, monetary value)
//!     -> cluster / churn / btyd models / loyalty   (built on the profiles above)
//! ```
//!
//! Every public entry point validates its input and returns a typed [`Error`];
//! nothing here panics on user data. There is no Python in this crate: the
//! `patronage-py` crate is a thin binding over it.
//!
//! ```
//! use patronage_core::{rfm, ReturnsPolicy, Transactions};
//!
//! // two customers (codes 0 and 1), days since 1970-01-01, amounts
//! let customer = [0, 0, 1];
//! let day = [10, 14, 12];
//! let amount = [20.0, 30.0, 5.0];
//! let tx = Transactions::new(&customer, &day, &amount, 2, ReturnsPolicy::Net).unwrap();
//! let table = rfm::rfm_table(&tx, None).unwrap();
//! assert_eq!(table.n_orders, vec![2, 1]);
//! assert_eq!(table.recency_days, vec![1, 3]); // as_of defaults to the day after the last transaction
//! ```

pub mod btyd;
mod buckets;
pub mod calendar;
pub mod campaign;
pub mod churn;
pub mod cluster;
pub mod dist;
pub mod error;
pub mod exact;
pub mod groups;
pub mod ids;
pub mod interrupt;
pub mod loyalty;
pub mod optim;
pub mod rfm;
pub mod simulate;
pub mod transactions;
pub mod uplift;

pub use error::{DataError, Error, Field, ParamError, Result};
pub use transactions::{ReturnsPolicy, Transactions};

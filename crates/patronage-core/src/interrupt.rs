//! Stopping a long computation from outside (Ctrl-C in a notebook).
//!
//! The caller creates a [`Stop`], keeps a clone, and runs the computation
//! inside [`with_stop`]; long loops call [`check`] once per iteration or
//! chunk (never per row) and return [`Error::Interrupted`] once the flag is
//! raised. The flag travels in a thread-local, so no signature has to carry
//! it; parallel chunks take [`current`] once and skip their work when it is
//! raised (the caller's [`check`] then reports the stop), and a checking loop
//! moved onto another thread re-enters it there with [`with_stop`]. Outside
//! any [`with_stop`], [`check`] never stops.
//!
//! ```
//! use patronage_core::interrupt::{check, with_stop, Stop};
//! use patronage_core::Error;
//!
//! let stop = Stop::new();
//! let work = |stop: &Stop| {
//!     for i in 0.. {
//!         check()?;
//!         if i == 3 {
//!             stop.raise(); // another thread would do this
//!         }
//!     }
//!     Ok::<(), Error>(())
//! };
//! assert_eq!(with_stop(&stop, || work(&stop)), Err(Error::Interrupted));
//! assert_eq!(check(), Ok(())); // no flag outside with_stop
//! ```

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};

/// A flag shared by the computation and whoever may stop it.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// A flag not yet raised.
    pub fn new() -> Self {
        Stop::default()
    }

    /// Asks the computation to stop at its next [`check`].
    pub fn raise(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`Stop::raise`] was called.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Stop>> = const { RefCell::new(None) };
}

/// Puts back the flag that was current before [`with_stop`] (also on unwind).
struct Restore(Option<Stop>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// Runs `f` with `stop` as the flag [`check`] reads on this thread.
pub fn with_stop<T>(stop: &Stop, f: impl FnOnce() -> T) -> T {
    let previous = CURRENT.with(|c| c.replace(Some(stop.clone())));
    let _restore = Restore(previous);
    f()
}

/// The flag of the enclosing [`with_stop`] on this thread (one that is never
/// raised outside any), for parallel chunks to skip their work once raised.
pub fn current() -> Stop {
    CURRENT.with(|c| c.borrow().clone()).unwrap_or_default()
}

/// `Err(Error::Interrupted)` once the current flag is raised, else `Ok(())`.
pub fn check() -> Result<()> {
    CURRENT.with(|c| match &*c.borrow() {
        Some(stop) if stop.is_raised() => Err(Error::Interrupted),
        _ => Ok(()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn raised_flag_stops_only_its_own_scope() {
        let (a, b) = (Stop::new(), Stop::new());
        a.raise();
        assert_eq!(with_stop(&a, check), Err(Error::Interrupted));
        assert_eq!(with_stop(&b, check), Ok(()));
        // nested scopes restore the outer flag when they end
        with_stop(&a, || {
            assert_eq!(with_stop(&b, check), Ok(()));
            assert_eq!(check(), Err(Error::Interrupted));
        });
        assert!(CURRENT.with(|c| c.borrow().is_none()));
    }

    #[test]
    fn restored_after_a_panic() {
        let a = Stop::new();
        a.raise();
        let unwound = std::panic::catch_unwind(|| with_stop(&a, || panic!("boom")));
        assert!(unwound.is_err());
        assert_eq!(check(), Ok(()));
    }

    /// A loop on another thread stops when the flag is raised from here, and
    /// parallel work re-entering the flag with `current()` sees it too.
    #[test]
    fn raised_from_another_thread() {
        let stop = Stop::new();
        let seen = std::thread::scope(|s| {
            let worker = s.spawn(|| {
                with_stop(&stop, || {
                    let mut iterations = 0u64;
                    while check().is_ok() {
                        iterations += 1;
                        std::thread::yield_now();
                    }
                    let inner = current();
                    let all: Vec<Result<()>> =
                        (0..64).into_par_iter().map(|_| with_stop(&inner, check)).collect();
                    (iterations, all)
                })
            });
            std::thread::sleep(std::time::Duration::from_millis(20));
            stop.raise();
            worker.join().expect("no panic")
        });
        assert!(seen.0 > 0);
        assert!(seen.1.iter().all(|r| *r == Err(Error::Interrupted)));
    }
}

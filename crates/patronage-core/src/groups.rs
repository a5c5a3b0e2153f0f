//! Grouping a transaction log by customer, in time order.
//!
//! A counting sort by customer code (O(n), one scatter pass) followed by a
//! per-customer sort by day that is skipped when the input was already in date
//! order. Every per-customer computation (RFM, BTYD summaries, churn features,
//! lifecycle) reads the groups instead of re-sorting the log.

use rayon::prelude::*;

use crate::transactions::Transactions;

/// One transaction as seen inside its customer's group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    /// Day number (days since 1970-01-01).
    pub day: i64,
    /// Amount (negative for a return).
    pub amount: f64,
}

/// The kept transactions of every customer, contiguous and sorted by day.
#[derive(Debug, Clone)]
pub struct CustomerGroups {
    offsets: Vec<usize>,
    entries: Vec<Entry>,
}

impl CustomerGroups {
    /// Groups the kept rows of `tx` by customer code, each group sorted by day
    /// (stable: same-day rows keep their input order).
    pub fn new(tx: &Transactions<'_>) -> Self {
        let n_customers = tx.n_customers();
        let (customer, day, amount) = (tx.customer(), tx.day(), tx.amount());
        let mut offsets = vec![0usize; n_customers + 1];
        for i in 0..tx.len() {
            if tx.is_kept(i) {
                offsets[customer[i] as usize + 1] += 1;
            }
        }
        for c in 0..n_customers {
            offsets[c + 1] += offsets[c];
        }
        let mut cursor = offsets[..n_customers].to_vec();
        let mut entries = vec![
            Entry {
                day: 0,
                amount: 0.0
            };
            offsets[n_customers]
        ];
        for i in 0..tx.len() {
            if tx.is_kept(i) {
                let slot = &mut cursor[customer[i] as usize];
                entries[*slot] = Entry {
                    day: day[i],
                    amount: amount[i],
                };
                *slot += 1;
            }
        }
        let mut groups = CustomerGroups { offsets, entries };
        groups.sort_each_by_day();
        groups
    }

    fn sort_each_by_day(&mut self) {
        let mut slices = Vec::with_capacity(self.offsets.len() - 1);
        let mut rest = self.entries.as_mut_slice();
        for w in self.offsets.windows(2) {
            let (head, tail) = rest.split_at_mut(w[1] - w[0]);
            slices.push(head);
            rest = tail;
        }
        slices.par_iter_mut().with_min_len(1024).for_each(|g| {
            if !g.is_sorted_by_key(|e| e.day) {
                g.sort_by_key(|e| e.day);
            }
        });
    }

    /// Number of customer codes (including customers with no kept rows).
    pub fn n_customers(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The transactions of customer `c`, sorted by day.
    #[inline]
    pub fn get(&self, c: usize) -> &[Entry] {
        &self.entries[self.offsets[c]..self.offsets[c + 1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReturnsPolicy;

    #[test]
    fn groups_and_sorts() {
        let tx = Transactions::new(
            &[1, 0, 1, 1, 2],
            &[9, 3, 2, 5, 1],
            &[1.0, 2.0, 3.0, -4.0, 5.0],
            4,
            ReturnsPolicy::Drop,
        )
        .unwrap();
        let g = CustomerGroups::new(&tx);
        assert_eq!(
            g.get(0),
            &[Entry {
                day: 3,
                amount: 2.0
            }]
        );
        let days: Vec<i64> = g.get(1).iter().map(|e| e.day).collect();
        assert_eq!(days, vec![2, 9]);
        assert_eq!(g.get(3), &[]);
    }
}

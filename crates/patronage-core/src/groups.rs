//! Grouping a transaction log by customer, in time order, and reading each
//! customer's history as purchase days.
//!
//! The kept rows are first partitioned into buckets of consecutive customer
//! codes ([`crate::buckets`]); each bucket, in parallel, is then laid out by
//! customer with a counting sort (its rows are in cache) and each customer's
//! rows are sorted into [`canonical`] order (by day, then amount), a step
//! skipped when the log was already in that order. All safe code, no shared
//! writes, and the result depends neither on the number of threads nor on the
//! order of the rows: a group is a function of its customer's rows as a set,
//! so which line opens an order and every sum over a group (the same amounts
//! added in the same order) come out the same however the log was sorted.
//!
//! Every per-customer computation (RFM, BTYD summaries, churn features,
//! lifecycle, cohorts, retention) reads these groups through [`visits`], which
//! applies the purchase and return rules of [`crate::transactions`] in one
//! place.

use hashbrown::HashMap;
use rayon::prelude::*;

use crate::buckets::Buckets;
use crate::transactions::Transactions;

/// One kept row as seen inside its customer's group.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Entry {
    /// Day number (fits i32 and is above `i32::MIN`: checked by [`Transactions`]).
    day: i32,
    /// [`OPENS`] for the purchase line that opens an order; otherwise the day of
    /// the purchase day the line belongs to: its order's day (a later line of an
    /// order, or a return line on an order with purchases), or its own day
    /// (a return is then matched to the latest purchase day on or before it).
    link: i32,
    amount: f64,
}

/// The `link` of the purchase line that opens an order (never a day).
const OPENS: i32 = i32::MIN;

/// The order of a customer's entries: by day, then by amount (IEEE total
/// order), then by link (an order's opening line before its other lines of
/// equal amount). Floating-point sums depend on the order of their terms, and
/// the line that opens an order is the first of its purchase lines in this
/// order, so a fixed order makes every per-customer result independent of how
/// the log was sorted. Returns (negative) come before the day's purchases.
#[inline]
pub fn canonical(a: &Entry, b: &Entry) -> std::cmp::Ordering {
    a.day.cmp(&b.day).then(a.amount.total_cmp(&b.amount)).then(a.link.cmp(&b.link))
}

impl Entry {
    /// A purchase line (`opens_order`: it is the first line of its order) or a
    /// return line, matched by date.
    pub fn new(day: i64, amount: f64, opens_order: bool) -> Self {
        let link = if amount >= 0.0 && opens_order { OPENS } else { day as i32 };
        Entry { day: day as i32, link, amount }
    }

    /// Day number (days since 1970-01-01).
    #[inline]
    pub fn day(&self) -> i64 {
        self.day as i64
    }

    /// Amount (negative for a return).
    #[inline]
    pub fn amount(&self) -> f64 {
        self.amount
    }

    /// A purchase line: amount `>= 0` (a free item is bought too).
    #[inline]
    pub fn is_purchase(&self) -> bool {
        self.amount >= 0.0
    }

    /// The purchase line that starts an order (the first purchase line of the
    /// customer's day, or of its order id when the log has orders): an order
    /// is placed on this line's day.
    #[inline]
    pub fn opens_order(&self) -> bool {
        self.link == OPENS
    }

    /// The day whose purchase this line belongs to: the latest purchase day on
    /// or before it.
    #[inline]
    fn matched_day(&self) -> i64 {
        if self.link == OPENS {
            self.day as i64
        } else {
            self.link as i64
        }
    }
}

/// The groups of one bucket of customers ([`Buckets`]).
#[derive(Debug, Clone)]
pub(crate) struct Part {
    offsets: Vec<usize>,
    entries: Vec<Entry>,
}

impl Part {
    /// Number of customers of the bucket.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The group of the bucket's customer `local` (its code minus the bucket's first).
    #[inline]
    pub fn get(&self, local: usize) -> &[Entry] {
        &self.entries[self.offsets[local]..self.offsets[local + 1]]
    }
}

/// The kept transactions of every customer, contiguous and sorted by day.
#[derive(Debug, Clone)]
pub struct CustomerGroups {
    n_customers: usize,
    shift: u32,
    parts: Vec<Part>,
}

impl CustomerGroups {
    /// Groups the kept rows of `tx` by customer code, each group in
    /// [`canonical`] order (by day, then amount), and marks the line that
    /// opens each order and the purchase each return is matched to.
    pub fn new(tx: &Transactions<'_>) -> Self {
        Self::from_buckets(&Buckets::new(tx), tx.has_orders())
    }

    /// The groups of partitioned rows (`has_orders`: the rows carry order ids).
    pub(crate) fn from_buckets(buckets: &Buckets, has_orders: bool) -> Self {
        let parts = (0..buckets.len()).into_par_iter().map(|b| build_part(buckets, b, has_orders)).collect();
        CustomerGroups { n_customers: buckets.n_customers(), shift: buckets.shift(), parts }
    }

    /// Number of customer codes (including customers with no kept rows).
    pub fn n_customers(&self) -> usize {
        self.n_customers
    }

    /// The transactions of customer `c`, sorted by day.
    #[inline]
    pub fn get(&self, c: usize) -> &[Entry] {
        self.parts[c >> self.shift].get(c & ((1 << self.shift) - 1))
    }
}

/// What an order id (of one customer) says about its lines.
#[derive(Clone, Copy)]
struct OrderInfo {
    /// Earliest day of a purchase line, the order's day (`i32::MAX`: the order has none).
    purchase_day: i32,
    /// Amount of the order's first purchase line in [`canonical`] order (the
    /// smallest on `purchase_day`): that line opens the order.
    amount: f64,
    /// The position (in the bucket's log order) of a row holding that line.
    /// Equal lines of one order make equal entries, so which of them opens
    /// the order does not change the group.
    first_row: usize,
}

/// The orders of bucket `b`'s customers, keyed by (local code, order id).
fn order_infos(buckets: &Buckets, b: usize) -> HashMap<(u32, i64), OrderInfo> {
    let mut infos: HashMap<(u32, i64), OrderInfo> = HashMap::with_capacity(buckets.n_rows(b));
    let rows = buckets.segments(b).flat_map(|(rows, orders)| rows.iter().zip(orders));
    for (k, (row, &order)) in rows.enumerate() {
        let info = infos.entry((row.local, order)).or_insert(OrderInfo {
            purchase_day: i32::MAX,
            amount: f64::INFINITY,
            first_row: k,
        });
        let earlier = row.day.cmp(&info.purchase_day).then(row.amount.total_cmp(&info.amount)).is_lt();
        if row.amount >= 0.0 && earlier {
            *info = OrderInfo { purchase_day: row.day, amount: row.amount, first_row: k };
        }
    }
    infos
}

/// The groups of bucket `b`: a counting sort of its rows (in cache) by
/// customer, then a per-customer sort into [`canonical`] order that is
/// skipped when the log was already in that order.
pub(crate) fn build_part(buckets: &Buckets, b: usize, has_orders: bool) -> Part {
    let m = buckets.customers(b).len();
    let orders = has_orders.then(|| order_infos(buckets, b));
    let mut offsets = vec![0usize; m + 1];
    for (rows, _) in buckets.segments(b) {
        for row in rows {
            offsets[row.local as usize + 1] += 1;
        }
    }
    for c in 0..m {
        offsets[c + 1] += offsets[c];
    }
    let mut entries = vec![Entry::default(); offsets[m]];
    let mut next = offsets[..m].to_vec();
    let mut k = 0;
    for (rows, order_ids) in buckets.segments(b) {
        for (j, row) in rows.iter().enumerate() {
            let mut entry = Entry { day: row.day, link: row.day, amount: row.amount };
            if let Some(infos) = &orders {
                // present: every row of the bucket was recorded
                if let Some(info) = infos.get(&(row.local, order_ids[j])) {
                    if info.first_row == k && row.amount >= 0.0 {
                        entry.link = OPENS;
                    } else if info.purchase_day <= row.day {
                        entry.link = info.purchase_day; // a later line of the order
                    }
                }
            }
            let slot = &mut next[row.local as usize];
            entries[*slot] = entry;
            *slot += 1;
            k += 1;
        }
    }
    for w in offsets.windows(2) {
        let g = &mut entries[w[0]..w[1]];
        if !g.is_sorted_by(|a, b| canonical(a, b).is_le()) {
            if g.is_sorted_by_key(|e| e.day) {
                // the usual export, in time order: only same-day runs to order
                for run in g.chunk_by_mut(|a, b| a.day == b.day).filter(|run| run.len() > 1) {
                    run.sort_unstable_by(canonical);
                }
            } else {
                g.sort_unstable_by(canonical);
            }
        }
        if orders.is_none() {
            mark_daily_orders(g);
        }
    }
    Part { offsets, entries }
}

/// Without order ids an order is a customer-day: the first purchase line of
/// each day ([`canonical`] order: its smallest) opens it. Before marking
/// every link is the entry's own day, and the opener becomes the smallest
/// link of its equal entries, so the group stays in canonical order.
fn mark_daily_orders(g: &mut [Entry]) {
    let mut open_day = None;
    for e in g.iter_mut().filter(|e| e.is_purchase()) {
        if open_day != Some(e.day) {
            e.link = OPENS;
            open_day = Some(e.day);
        }
    }
}

/// Relative size under which a net amount counts as zero: purchases and
/// returns that cancel in decimal (3 x 1.10 bought, 3.30 returned) leave
/// rounding noise of a few ulps in binary, which must not read as a customer
/// who spent 1e-16 (a spend model would take its logarithm).
pub const NET_TOLERANCE: f64 = 1e-9;

/// `sum` (purchases minus returns), or 0 when it is within [`NET_TOLERANCE`]
/// of `volume` (purchases plus returns, absolute) of zero.
#[inline]
pub fn net(sum: f64, volume: f64) -> f64 {
    if sum.abs() <= NET_TOLERANCE * volume.abs() {
        0.0
    } else {
        sum
    }
}

/// A purchase day of one customer: the day of at least one order, with the
/// lines that belong to it and the returns matched to it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Visit {
    /// Day number.
    pub day: i64,
    /// Orders placed that day (1 without order ids).
    pub orders: u32,
    /// Purchase lines of those orders.
    pub purchase_lines: u32,
    /// Sum of those lines.
    pub gross: f64,
    /// Return lines matched to the day (of the same day or later).
    pub return_lines: u32,
    /// Sum of their absolute amounts.
    pub returned: f64,
    /// Net spend: purchases and matched returns, added in the group's
    /// [`canonical`] order (0 when they cancel, see [`net`]).
    pub spend: f64,
}

impl Visit {
    /// Purchases plus returns (absolute): the scale of [`Visit::spend`].
    pub fn volume(&self) -> f64 {
        self.gross + self.returned
    }

    fn add(&mut self, amount: f64) {
        if amount >= 0.0 {
            self.purchase_lines += 1;
            self.gross += amount;
        } else {
            self.return_lines += 1;
            self.returned -= amount;
        }
        self.spend += amount;
    }
}

/// The purchase days of one customer's entries in [`canonical`] order (a
/// prefix of a group: a date cutoff), each with the lines that belong to it,
/// into `out`.
///
/// An order is placed on the day of its opening line. A later line of an
/// order (order ids) belongs to the order's day; a return without one is
/// matched to the most recent purchase day on or before it, including an
/// order later on the same day; a return before the first purchase day
/// matches nothing and is left out. Only lines within `entries` are seen, so
/// a prefix never depends on later rows.
pub fn visits(entries: &[Entry], out: &mut Vec<Visit>) {
    out.clear();
    // returns of the current day seen before its first order
    let mut pending: Vec<f64> = Vec::new();
    let mut run_day = i64::MIN;
    for e in entries {
        let day = e.day();
        if day != run_day {
            settle(&mut pending, out);
            run_day = day;
        }
        let today = out.last().is_some_and(|v| v.day == day);
        if e.opens_order() {
            if !today {
                out.push(Visit { day, ..Visit::default() });
            }
            let v = out.last_mut().expect("a visit today");
            pending.drain(..).for_each(|a| v.add(a));
            v.orders += 1;
            v.add(e.amount);
        } else {
            let target = e.matched_day();
            if target == day && !today {
                pending.push(e.amount); // an order may follow later today
            } else if let Some(v) = latest_on_or_before(out, target) {
                v.add(e.amount);
            }
        }
    }
    settle(&mut pending, out);
    for v in out.iter_mut() {
        v.spend = net(v.spend, v.volume());
    }
}

/// Lines of a day without an order go to the most recent purchase day.
fn settle(pending: &mut Vec<f64>, out: &mut [Visit]) {
    if let Some(v) = out.last_mut() {
        pending.drain(..).for_each(|a| v.add(a));
    }
    pending.clear();
}

fn latest_on_or_before(out: &mut [Visit], day: i64) -> Option<&mut Visit> {
    let n = out.partition_point(|v| v.day <= day);
    n.checked_sub(1).map(|k| &mut out[k])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReturnsPolicy;

    fn days_amounts(g: &[Entry]) -> Vec<(i64, f64)> {
        g.iter().map(|e| (e.day(), e.amount())).collect()
    }

    /// Same-day amounts whose float sum depends on their order: any row order
    /// gives the same group, so the same sum.
    #[test]
    fn row_order_does_not_change_a_group() {
        let amounts = [1e16, 1.0, -1e16, 1.0, 0.5];
        let mut sums = Vec::new();
        for rotation in 0..amounts.len() {
            let mut a = amounts.to_vec();
            a.rotate_left(rotation);
            let tx = Transactions::new(&[0; 5], &[3; 5], &a, 1, ReturnsPolicy::Net).unwrap();
            let g = CustomerGroups::new(&tx);
            sums.push(g.get(0).iter().map(|e| e.amount()).sum::<f64>().to_bits());
        }
        assert!(sums.iter().all(|&s| s == sums[0]));
    }

    /// With order ids the line that opens an order, the day each line belongs
    /// to and every visit's sums are the same for every row order: same-day
    /// orders, equal lines within one order, returns on and off their order's
    /// day, an order with a later line, amounts whose sums depend on their order.
    #[test]
    fn row_order_does_not_change_which_line_opens_an_order() {
        let rows: [(i64, f64, i64); 10] = [
            (1, 1e16, 7),
            (1, 1.0, 7),
            (1, 1.0, 7),
            (1, -1e16, 8), // a cancellation invoice
            (1, 0.5, 9),
            (1, -0.25, 9), // a partial cancellation of order 9 on its own day
            (3, 2.0, 7),   // a later line of order 7
            (3, -0.5, 9),  // returned to order 9 (day 1)
            (3, 0.0, 10),  // a free item opens order 10
            (4, -3.0, 11), // a return-only invoice: matched to day 3
        ];
        let (mut groups, mut days) = (Vec::new(), Vec::<Vec<Visit>>::new());
        for rotation in 0..rows.len() {
            for reversed in [false, true] {
                let mut r = rows.to_vec();
                r.rotate_left(rotation);
                if reversed {
                    r.reverse();
                }
                let d: Vec<i64> = r.iter().map(|x| x.0).collect();
                let a: Vec<f64> = r.iter().map(|x| x.1).collect();
                let o: Vec<i64> = r.iter().map(|x| x.2).collect();
                let tx = Transactions::new(&[0; 10], &d, &a, 1, ReturnsPolicy::Net)
                    .unwrap()
                    .with_orders(&o)
                    .unwrap();
                let g = CustomerGroups::new(&tx);
                let mut v = Vec::new();
                visits(g.get(0), &mut v);
                groups.push(format!("{:?}", g.get(0)));
                days.push(v);
            }
        }
        assert!(groups.iter().all(|g| *g == groups[0]));
        let bits = |v: &[Visit]| format!("{:?}", v.iter().map(|v| v.spend.to_bits()).collect::<Vec<_>>());
        assert!(days.iter().all(|v| *v == days[0] && bits(v) == bits(&days[0])));
        let v = &days[0];
        // orders 7 and 9 on day 1, order 10 on day 3; the day-4 return nets into day 3
        let got: Vec<(i64, u32, u32, u32)> =
            v.iter().map(|v| (v.day, v.orders, v.purchase_lines, v.return_lines)).collect();
        assert_eq!(got, vec![(1, 2, 5, 3), (3, 1, 1, 1)]);
        assert_eq!(v[1].spend, -3.0);
    }

    #[test]
    fn groups_and_sorts() {
        let tx = Transactions::new(
            &[1, 0, 1, 1, 2, 1],
            &[9, 3, 2, 5, 1, 2],
            &[1.0, 2.0, 3.0, -4.0, 5.0, 6.0],
            4,
            ReturnsPolicy::Drop,
        )
        .unwrap();
        for threads in [1, 2, 3, 8] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let g = pool.install(|| CustomerGroups::new(&tx));
            assert_eq!(g.n_customers(), 4);
            assert_eq!(days_amounts(g.get(0)), vec![(3, 2.0)]);
            // by day, then by amount; the day's first purchase line opens its order
            assert_eq!(days_amounts(g.get(1)), vec![(2, 3.0), (2, 6.0), (9, 1.0)]);
            let opens: Vec<bool> = g.get(1).iter().map(Entry::opens_order).collect();
            assert_eq!(opens, vec![true, false, true]);
            assert_eq!(days_amounts(g.get(2)), vec![(1, 5.0)]);
            assert_eq!(g.get(3), &[]);
        }
    }

    fn visits_of(c: &[i64], d: &[i64], a: &[f64], order: Option<&[i64]>) -> Vec<Visit> {
        let n = c.iter().max().map_or(0, |&m| m as usize + 1);
        let mut tx = Transactions::new(c, d, a, n, ReturnsPolicy::Net).unwrap();
        if let Some(o) = order {
            tx = tx.with_orders(o).unwrap();
        }
        let g = CustomerGroups::new(&tx);
        let mut out = Vec::new();
        visits(g.get(0), &mut out);
        out
    }

    #[test]
    fn returns_are_matched_to_purchase_days_never_counted_as_orders() {
        // day 1: a return before any purchase (ignored); day 2: return listed before the
        // day's purchase; day 4: a return-only day (matched to day 2); day 6: purchase.
        let v = visits_of(&[0; 5], &[1, 2, 2, 4, 6], &[-5.0, -1.0, 10.0, -3.0, 7.0], None);
        assert_eq!(v.iter().map(|v| v.day).collect::<Vec<_>>(), vec![2, 6]);
        assert_eq!((v[0].orders, v[0].purchase_lines, v[0].return_lines), (1, 1, 2));
        assert_eq!((v[0].gross, v[0].returned, v[0].spend), (10.0, 4.0, 6.0));
        assert_eq!((v[1].orders, v[1].spend, v[1].return_lines), (1, 7.0, 0));
        // only returns: no purchase day at all
        assert!(visits_of(&[0, 0, 1], &[1, 2, 3], &[-1.0, -2.0, 5.0], None).is_empty());
        // a prefix never sees later returns
        let g = [Entry::new(2, 10.0, true), Entry::new(4, -3.0, false)];
        let mut out = Vec::new();
        visits(&g[..1], &mut out);
        assert_eq!(out[0].spend, 10.0);
    }

    #[test]
    fn order_ids_count_orders_and_match_their_returns() {
        // order 7: lines on day 1 and a partial cancellation on day 5; order 8 on day 3
        // (two lines); order 9 on day 3; order 10 on day 5 is a cancellation (all negative).
        let d = [1, 1, 3, 3, 3, 5, 5];
        let a = [4.0, 6.0, 2.0, 2.0, 1.0, -6.0, -1.0];
        let o = [7, 7, 8, 8, 9, 7, 10];
        let v = visits_of(&[0; 7], &d, &a, Some(&o));
        assert_eq!(v.iter().map(|v| (v.day, v.orders)).collect::<Vec<_>>(), vec![(1, 1), (3, 2)]);
        // the day-5 line of order 7 goes back to day 1; order 10 to the latest purchase day (3)
        assert_eq!((v[0].spend, v[0].return_lines), (4.0, 1));
        assert_eq!((v[1].spend, v[1].return_lines), (4.0, 1));
        // the same rows without ids: both returns net into day 3
        let v = visits_of(&[0; 7], &d, &a, None);
        assert_eq!((v[0].spend, v[1].spend, v[1].orders), (10.0, -2.0, 1));
    }

    #[test]
    fn cancelling_decimals_net_to_exactly_zero() {
        // 1.1 + 1.1 + 1.1 - 3.3 is 4.4e-16 in binary
        let v = visits_of(&[0; 4], &[0, 0, 0, 1], &[1.1, 1.1, 1.1, -3.3], None);
        assert_eq!((v[0].spend, v[0].gross), (0.0, 1.1 + 1.1 + 1.1));
        assert_eq!(net(1e-6, 10.0), 1e-6);
    }

    #[test]
    fn later_lines_of_an_order_belong_to_its_day() {
        // order 1 opens on day 2 and has another line on day 5; order 2 opens on day 4
        let v = visits_of(&[0; 3], &[2, 5, 4], &[3.0, 4.0, 1.0], Some(&[1, 1, 2]));
        assert_eq!(
            v.iter().map(|v| (v.day, v.orders, v.gross)).collect::<Vec<_>>(),
            vec![(2, 1, 7.0), (4, 1, 1.0)]
        );
        // without ids day 5 is a purchase day of its own
        assert_eq!(visits_of(&[0; 3], &[2, 5, 4], &[3.0, 4.0, 1.0], None).len(), 3);
    }

    #[test]
    fn an_order_id_under_two_customers_is_two_orders() {
        let tx = Transactions::new(&[0, 1, 1], &[1, 1, 2], &[1.0, 2.0, -2.0], 2, ReturnsPolicy::Net)
            .unwrap()
            .with_orders(&[5, 5, 5])
            .unwrap();
        let g = CustomerGroups::new(&tx);
        let mut out = Vec::new();
        visits(g.get(1), &mut out);
        assert_eq!((out[0].orders, out[0].spend), (1, 0.0));
    }
}

//! The nearest centres with [`LANES`] or more features, on AVX-512: the
//! centres are the SIMD lanes and each feature of a row is broadcast, so
//! rows are read as they are, never transposed into a tile; the distances of
//! eight rows are then transposed (24 shuffles) for the tile kernels' tree of
//! merges.
//!
//! Why: a tile of 16 features took 16 gathers to load, and one of 8 took 64
//! copies. Reading rows as they are, one Lloyd iteration at 100k x 16 (k = 8,
//! one thread) took 0.49 ms against 0.75, and at 100k x 8 0.28 against 0.32
//! (best of interleaved runs). At 5 features it was level with the tile
//! kernel, whose shuffle loader covers 2 to 7.
//!
//! Each distance is the same chain of fused multiply-adds, feature by
//! feature, as in the tile kernels (`(c - x)^2` is `(x - c)^2` exactly), and
//! the merges are theirs, so labels and distances are bit-identical to
//! theirs (see the tests).

use super::kernel::Nearest;
#[cfg(target_arch = "x86_64")]
use super::kernel::{nearest_of_group, NearestV};
use super::tile::{Cpu, Rows, LANES};
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::__m512d;

/// The fewest features the wide kernel takes.
pub(crate) const MIN_FEATURES: usize = LANES;

/// What the wide kernel runs on: AVX-512 (see [`Cpu::wide`]).
#[cfg(target_arch = "x86_64")]
pub(crate) type Wide = pulp::x86::V4;
/// What the wide kernel runs on: nothing off x86.
#[cfg(not(target_arch = "x86_64"))]
#[derive(Clone, Copy)]
pub(crate) enum Wide {}

/// Centres `k x d` (row-major) in the wide kernel's layout, into `out`:
/// groups of [`LANES`] centres, each group feature by feature (`[f][lane]`),
/// the last group padded with zeros (those lanes start at infinity, so they
/// are never nearest).
pub(crate) fn layout(rows: &[f64], k: usize, d: usize, out: &mut Vec<f64>) {
    out.clear();
    out.resize(k.div_ceil(LANES) * d * LANES, 0.0);
    for (j, row) in rows.chunks_exact(d).enumerate() {
        let group = &mut out[j / LANES * d * LANES..];
        for (f, &v) in row.iter().enumerate() {
            group[f * LANES + j % LANES] = v;
        }
    }
}

/// The nearest of the `k` centres (`centres` in the [`layout`]) for the
/// tile's `rows` of the row-major block `xb` (`d` features); the second
/// smallest distance only when `SECOND`.
///
/// Each group of [`LANES`] centres gives a vector of distances per row;
/// those are transposed (a vector per centre, rows as lanes) and go through
/// the tile kernels' own tree of merges.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn nearest<const SECOND: bool>(
    v4: Wide,
    cpu: Cpu,
    xb: &[f64],
    rows: &Rows,
    centres: &[f64],
    k: usize,
    d: usize,
) -> Nearest {
    let a = v4.avx512f;
    let mut x: [&[f64]; LANES] = [&[]; LANES];
    match *rows {
        Rows::From(first) => {
            cpu.prefetch_ahead(xb, first, d);
            let mut rest = &xb[first * d..(first + LANES) * d];
            for row in x.iter_mut() {
                (*row, rest) = rest.split_at(d);
            }
        }
        Rows::Listed(idx) => {
            for (row, &i) in x.iter_mut().zip(&idx) {
                *row = &xb[i * d..(i + 1) * d];
            }
        }
    }
    let inf = a._mm512_set1_pd(f64::INFINITY);
    let mut near: Option<NearestV<Wide>> = None;
    for g in 0..k.div_ceil(LANES) {
        let group = &centres[g * d * LANES..(g + 1) * d * LANES];
        // lanes past the last centre start at infinity: never the nearest
        let real = (k - g * LANES).min(LANES);
        let padding = !((1u16 << real) - 1) as u8;
        let mut acc = [a._mm512_mask_mov_pd(a._mm512_setzero_pd(), padding, inf); LANES];
        for (f, c) in group.chunks_exact(LANES).enumerate() {
            let c: __m512d = pulp::cast::<[f64; LANES], __m512d>(c.try_into().expect("a group's feature"));
            for (acc, row) in acc.iter_mut().zip(&x) {
                let t = a._mm512_sub_pd(c, a._mm512_set1_pd(row[f]));
                *acc = a._mm512_fmadd_pd(t, t, *acc);
            }
        }
        let this = nearest_of_group::<Wide, SECOND, LANES>(v4, transpose(v4, acc), g * LANES);
        near = Some(match near {
            None => this,
            Some(earlier) => earlier.merge::<SECOND>(v4, this),
        });
    }
    let near = near.expect("at least one centre");
    Nearest { best: pulp::cast(near.best), d1: pulp::cast(near.d1), d2: pulp::cast(near.d2) }
}

/// An 8 x 8 transposition: lane `j` of `m[r]` becomes lane `r` of the result's `j`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn transpose(v4: Wide, m: [__m512d; LANES]) -> [pulp::f64x8; LANES] {
    let a = v4.avx512f;
    // t[2p] = lanes 0, 2, 4, 6 of rows 2p and 2p + 1, interleaved; t[2p + 1] lanes 1, 3, 5, 7
    let mut t = m;
    for p in 0..LANES / 2 {
        t[2 * p] = a._mm512_unpacklo_pd(m[2 * p], m[2 * p + 1]);
        t[2 * p + 1] = a._mm512_unpackhi_pd(m[2 * p], m[2 * p + 1]);
    }
    // q[h + i] (i < 4) = lane i of rows h..h + 4, then lane i + 4 of the same rows
    let lo = index([0, 1, 8, 9, 4, 5, 12, 13]);
    let hi = index([2, 3, 10, 11, 6, 7, 14, 15]);
    let mut q = m;
    for h in [0, 4] {
        q[h] = a._mm512_permutex2var_pd(t[h], lo, t[h + 2]);
        q[h + 1] = a._mm512_permutex2var_pd(t[h + 1], lo, t[h + 3]);
        q[h + 2] = a._mm512_permutex2var_pd(t[h], hi, t[h + 2]);
        q[h + 3] = a._mm512_permutex2var_pd(t[h + 1], hi, t[h + 3]);
    }
    // lane i of all eight rows: the low halves of q[i] and q[i + 4]; lane i + 4: the high halves
    let mut out = [pulp::cast::<__m512d, pulp::f64x8>(m[0]); LANES];
    for i in 0..LANES / 2 {
        out[i] = pulp::cast(a._mm512_shuffle_f64x2::<0b0100_0100>(q[i], q[i + 4]));
        out[i + 4] = pulp::cast(a._mm512_shuffle_f64x2::<0b1110_1110>(q[i], q[i + 4]));
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn index(i: [i64; LANES]) -> core::arch::x86_64::__m512i {
    pulp::cast(i)
}

/// Off x86 there is no wide kernel ([`Cpu::wide`] is always `None`).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn nearest<const SECOND: bool>(
    wide: Wide,
    _cpu: Cpu,
    _xb: &[f64],
    _rows: &Rows,
    _centres: &[f64],
    _k: usize,
    _d: usize,
) -> Nearest {
    match wide {}
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::super::kernel::{grouped, nearest_tile};
    use super::super::tile::{load_tile, Lane};
    use super::*;

    /// Labels and both distances match the tile kernel's bit for bit,
    /// including ties (duplicate centres, rows on a centre), for every
    /// group count, consecutive and listed rows.
    #[test]
    fn wide_kernel_matches_the_tile_kernel() {
        let cpu = Cpu::detect();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut checked = 0;
        for d in [8, 9, 12, 16, 21] {
            for k in [1, 2, 3, 7, 8, 9, 12, 16, 17, 25] {
                let Some(wide) = cpu.wide(d) else { continue };
                let n = 40;
                let mut xb: Vec<f64> = (0..n * d).map(|_| rng.gen_range(-3.0..3.0)).collect();
                let mut rows: Vec<f64> = (0..k * d).map(|_| rng.gen_range(-3.0..3.0)).collect();
                if k > 2 {
                    // a duplicate centre, and a row on it
                    let (first, rest) = rows.split_at_mut(d);
                    rest[(k - 2) * d..].copy_from_slice(first);
                    xb[5 * d..6 * d].copy_from_slice(first);
                }
                let mut wide_centres = Vec::new();
                layout(&rows, k, d, &mut wide_centres);
                let tile_centres = grouped(&rows, d);
                for tile in [Rows::From(0), Rows::From(3), Rows::Listed([31, 2, 17, 2, 0, 39, 8, 5])] {
                    let mut xt = vec![[0.0; LANES]; d];
                    load_tile(cpu, &mut xt, &xb, &tile);
                    // the tile kernel with the same instructions (AVX-512's fused multiply-add)
                    let want = nearest_tile::<_, true>(wide, &xt, &tile_centres);
                    let got = nearest::<true>(wide, cpu, &xb, &tile, &wide_centres, k, d);
                    assert_eq!(got.best, want.best, "d = {d}, k = {k}");
                    assert_eq!(bits(&got.d1), bits(&want.d1), "d = {d}, k = {k}");
                    assert_eq!(bits(&got.d2), bits(&want.d2), "d = {d}, k = {k}");
                    let first = nearest::<false>(wide, cpu, &xb, &tile, &wide_centres, k, d);
                    assert_eq!((first.best, bits(&first.d1)), (want.best, bits(&want.d1)));
                    checked += 1;
                }
            }
        }
        if std::is_x86_feature_detected!("avx512f") {
            assert_eq!(checked, 5 * 10 * 3);
        }
    }

    fn bits(v: &Lane) -> [u64; LANES] {
        v.map(f64::to_bits)
    }

    /// The layout puts centre `j`'s feature `f` in group `j / 8`, lane `j % 8`.
    #[test]
    fn layout_groups_centres_by_lane() {
        let (k, d) = (10, 9);
        let rows: Vec<f64> = (0..k * d).map(|i| i as f64).collect();
        let mut out = vec![7.0; 3];
        layout(&rows, k, d, &mut out);
        assert_eq!(out.len(), 2 * d * LANES);
        assert_eq!(out[3 * LANES + 2], rows[2 * d + 3]);
        assert_eq!(out[(d + 4) * LANES + 1], rows[9 * d + 4]);
        assert_eq!(out[(d + 4) * LANES + 2], 0.0);
    }
}

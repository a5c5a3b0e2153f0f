//! Tiles: [`LANES`] rows transposed, so that rows are SIMD lanes.
//!
//! Loading a tile is the first read of every row a pass computes on, so its
//! cost counts. With AVX-512, a tile of consecutive rows with 2 to 7
//! features is picked out of the few vectors it spans with shuffles;
//! otherwise the values are copied one by one. Both paths write the same
//! values, so nothing computed from a tile depends on which one ran.
//! A Lloyd fit with 2 to 7 features transposes its rows once ([`MadeTiles`])
//! and its passes read those tiles (one Lloyd iteration at 100k x 3, one
//! thread: 0.104-0.108 ms against 0.130-0.132 loading them in every pass).
//!
//! Loading a tile of consecutive rows also asks the CPU to fetch the rows
//! [`PREFETCH_AHEAD`] values further on: on this project's 2-core VM the
//! hardware prefetcher alone left a Lloyd pass waiting on memory (one
//! iteration at 1M x 16 on one thread: 18 ms with the hint, 26 ms without,
//! best of 4 alternating runs).
//!
//! With 8 or more features on AVX-512 the nearest-centre passes read rows
//! as they are instead (see `wide`); k-means++ still transposes them. (An
//! 8 x 8 shuffle transposition for 8 or more features was measured and
//! dropped: 5% faster Lloyd iterations at 100k x 16 and 10% slower k-means++
//! at 1M x 16.)

/// Rows handled together (one SIMD lane each).
pub(crate) const LANES: usize = 8;

/// `LANES` rows, transposed: `tile[f][l]` is feature `f` of the tile's row `l`.
pub(crate) type Lane = [f64; LANES];

/// How far ahead of a tile of consecutive rows the prefetch hint points, in
/// values (8 KB): about 40 tiles at 3 features, 8 at 16.
const PREFETCH_AHEAD: usize = 1024;

use super::wide::Wide;

/// What this CPU offers the tile loader and the label compare and store:
/// AVX-512 shuffles, masks and narrowing, the prefetch hint.
#[derive(Clone, Copy)]
pub(crate) struct Cpu {
    #[cfg(target_arch = "x86_64")]
    v4: Option<pulp::x86::V4>,
    #[cfg(target_arch = "x86_64")]
    v3: Option<pulp::x86::V3>,
}

impl Cpu {
    #[inline(always)]
    pub fn detect() -> Self {
        Cpu {
            #[cfg(target_arch = "x86_64")]
            v4: pulp::x86::V4::try_new(),
            #[cfg(target_arch = "x86_64")]
            v3: pulp::x86::V3::try_new(),
        }
    }
    /// Hints the CPU to fetch the 64-byte lines of `values` values from
    /// `at` in `xb` (a hint: the address may lie past the end, nothing is read).
    #[inline(always)]
    pub fn prefetch(self, xb: &[f64], at: usize, values: usize) {
        #[cfg(target_arch = "x86_64")]
        if let Some(v3) = self.v3 {
            for line in (0..values).step_by(LANES) {
                let p = xb.as_ptr().wrapping_add(at + line);
                v3.sse._mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (xb, at, values);
    }
    /// Hints the fetch of the rows [`PREFETCH_AHEAD`] values past the
    /// [`LANES`] rows of `d` features from row `first` of `xb`.
    #[inline(always)]
    pub fn prefetch_ahead(self, xb: &[f64], first: usize, d: usize) {
        self.prefetch(xb, first * d + PREFETCH_AHEAD, LANES * d);
    }
    /// The wide kernel, when it applies to `d` features ([`LANES`] or
    /// more, with AVX-512): see `wide`.
    #[inline(always)]
    pub fn wide(self, d: usize) -> Option<Wide> {
        #[cfg(target_arch = "x86_64")]
        if d >= super::wide::MIN_FEATURES {
            return self.v4;
        }
        let _ = d;
        None
    }
    /// Writes `best` into `labels` (one narrowing store where the CPU has it).
    #[inline(always)]
    pub fn store_labels(self, labels: &mut [u32; LANES], best: &[u64; LANES]) {
        #[cfg(target_arch = "x86_64")]
        if let Some(v4) = self.v4 {
            *labels = pulp::cast(v4.avx512f._mm512_cvtepi64_epi32(pulp::cast(*best)));
            return;
        }
        for (t, &b) in labels.iter_mut().zip(best) {
            *t = b as u32;
        }
    }
    /// A bit per lane where `labels` and `best` differ (one AVX-512 compare
    /// where the CPU has it: the portable loop compiles to a chain of shuffles).
    #[inline(always)]
    pub fn differ(self, labels: &[u32; LANES], best: &[u64; LANES]) -> u32 {
        #[cfg(target_arch = "x86_64")]
        if let Some(v4) = self.v4 {
            let a = v4.avx512f;
            let wide = a._mm512_cvtepu32_epi64(pulp::cast(*labels));
            return a._mm512_cmpneq_epu64_mask(wide, pulp::cast(*best)) as u32;
        }
        labels.iter().zip(best).enumerate().fold(0, |m, (l, (&a, &b))| m | (((a as u64 != b) as u32) << l))
    }
}

/// The rows of a tile.
#[derive(Clone, Copy)]
pub(crate) enum Rows {
    /// [`LANES`] consecutive rows from this one (known without a check).
    From(usize),
    /// Any rows.
    Listed([usize; LANES]),
}

/// Copies `rows` of the row-major block `xb` into the transposed tile `xt`.
#[inline(always)]
pub(crate) fn load_tile(cpu: Cpu, xt: &mut [Lane], xb: &[f64], rows: &Rows) {
    match *rows {
        Rows::From(first) => load_consecutive(cpu, xt, xb, first),
        Rows::Listed(idx) if idx.windows(2).all(|w| w[1] == w[0] + 1) => {
            load_consecutive(cpu, xt, xb, idx[0])
        }
        Rows::Listed(idx) => load_listed(xt, xb, &idx),
    }
}

#[inline(always)]
fn load_consecutive(cpu: Cpu, xt: &mut [Lane], xb: &[f64], first: usize) {
    let d = xt.len();
    cpu.prefetch_ahead(xb, first, d);
    #[cfg(target_arch = "x86_64")]
    if let Some(v4) = cpu.v4 {
        if (2..LANES).contains(&d) {
            avx512::pick(v4, &xb[first * d..(first + LANES) * d], xt);
            return;
        }
    }
    let mut idx = [first; LANES];
    for (l, i) in idx.iter_mut().enumerate() {
        *i += l;
    }
    load_listed(xt, xb, &idx);
}

#[inline(always)]
fn load_listed(xt: &mut [Lane], xb: &[f64], idx: &[usize; LANES]) {
    let d = xt.len();
    if d <= LANES {
        // few features: scalar copies (the callers double-buffer the tile)
        for (l, &r) in idx.iter().enumerate() {
            for (t, v) in xt.iter_mut().zip(&xb[r * d..(r + 1) * d]) {
                t[l] = *v;
            }
        }
        return;
    }
    // one feature of every row at a time: a gather and a whole-vector store
    // (not eight scalar stores, which a vector load could not forward from).
    // Loops, not `array::from_fn`: its closure is compiled apart, without
    // the kernels' SIMD features, and called for every tile.
    let mut rows: [&[f64]; LANES] = [&[]; LANES];
    for (row, &i) in rows.iter_mut().zip(idx) {
        *row = &xb[i * d..(i + 1) * d];
    }
    for (f, t) in xt.iter_mut().enumerate() {
        let mut lane = [0.0; LANES];
        for (v, row) in lane.iter_mut().zip(&rows) {
            *v = row[f];
        }
        *t = lane;
    }
}

/// The rows of a tile of `m` consecutive rows from `start`; a short tile
/// repeats its last row (those lanes are ignored).
#[inline(always)]
pub(crate) fn tile_rows(start: usize, m: usize) -> Rows {
    if m == LANES {
        Rows::From(start)
    } else {
        Rows::Listed(std::array::from_fn(|l| start + l.min(m - 1)))
    }
}

/// Every whole tile of a row-major `n x d` matrix (rows `8t..8t + 8` make
/// tile `t`), transposed once for a Lloyd fit with 2 to 7 features: its
/// changes, final and k-means++ passes then read them instead of transposing
/// the rows again in every pass; the changes passes read a moved row back
/// from its tile, so they never touch the matrix (at 1M x 3, reading the rows for the moves as well took
/// twice as long as not making tiles at all). The tiles are a copy of the
/// matrix, what scikit-learn's `copy_x` costs as well.
#[derive(Default)]
pub(crate) struct MadeTiles {
    buf: Vec<f64>,
    /// Where the tiles start in `buf`: on a 64-byte line, so no tile load splits one.
    from: usize,
    tiles: usize,
}

/// Tiles per parallel task of [`MadeTiles::new`] (8192 rows).
const TASK_TILES: usize = 1024;

impl MadeTiles {
    /// The tiles of `x` for 2 to 7 features, else none.
    pub fn new(x: &[f64], n: usize, d: usize) -> Self {
        use rayon::prelude::*;
        if !(2..LANES).contains(&d) {
            return MadeTiles::default();
        }
        let tiles = n / LANES * d;
        let mut buf = vec![0.0; (tiles + 1) * LANES];
        let from = buf.as_ptr().align_offset(64).min(LANES - 1);
        let out: &mut [Lane] = pulp::bytemuck::cast_slice_mut(&mut buf[from..from + tiles * LANES]);
        let arch = pulp::Arch::new();
        out.par_chunks_mut(TASK_TILES * d).enumerate().for_each(|(task, out)| {
            let x = &x[task * TASK_TILES * LANES * d..];
            super::kernel::dispatch_d!(d, transpose(arch, x, out));
        });
        MadeTiles { buf, from, tiles }
    }
    pub fn tiles(&self) -> &[Lane] {
        pulp::bytemuck::cast_slice(&self.buf[self.from..self.from + self.tiles * LANES])
    }
}

/// One task of [`MadeTiles::new`], with the tile in registers (`D`
/// features): the runtime-`d` copy took 0.36 ms at 100k x 3, this 0.064.
fn transpose<const D: usize>(arch: pulp::Arch, x: &[f64], out: &mut [Lane]) {
    struct Task<'a, const D: usize> {
        x: &'a [f64],
        out: &'a mut [Lane],
    }
    impl<const D: usize> pulp::WithSimd for Task<'_, D> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _simd: S) {
            let cpu = Cpu::detect();
            for (t, tile) in self.out.chunks_exact_mut(D.max(1)).enumerate() {
                let mut xt = [[0.0; LANES]; D];
                load_tile(cpu, &mut xt, self.x, &Rows::From(t * LANES));
                tile.copy_from_slice(&xt);
            }
        }
    }
    arch.dispatch(Task::<D> { x, out })
}

/// Two tile buffers: the next tile is written while the current one is read,
/// so the vector loads never wait on the stores of the transposition.
/// With `D` features the buffers live on the caller's stack, else in `scratch`.
/// With `wide`, no tile is loaded: the wide kernel reads the rows. A tile of
/// consecutive rows that `made` holds (see [`MadeTiles`]) is read from there.
pub(crate) struct TilePair<'a> {
    cur: &'a mut [Lane],
    next: &'a mut [Lane],
    pub cpu: Cpu,
    pub wide: Option<Wide>,
    made: &'a [Lane],
    /// Where in `made` the tile `advance` returns next is, when it is there.
    cur_made: Option<usize>,
}

impl<'a> TilePair<'a> {
    #[inline(always)]
    pub fn new<const D: usize>(
        local: &'a mut [[Lane; D]; 2],
        scratch: &'a mut [Lane],
        d: usize,
        wide: Option<Wide>,
        made: &'a [Lane],
    ) -> Self {
        let (cur, next): (&mut [Lane], &mut [Lane]) = if D > 0 {
            let [a, b] = local;
            (&mut a[..], &mut b[..])
        } else {
            let (a, b) = scratch.split_at_mut(d);
            (a, &mut b[..d])
        };
        TilePair { cur, next, cpu: Cpu::detect(), wide, made, cur_made: None }
    }
    /// Where the tile of `rows` starts in `made`, when it is there.
    #[inline(always)]
    fn in_made(&self, rows: &Rows) -> Option<usize> {
        let d = self.cur.len();
        match *rows {
            Rows::From(first) if (first / LANES + 1) * d <= self.made.len() => Some(first / LANES * d),
            _ => None,
        }
    }
    /// Loads the first tile.
    #[inline(always)]
    pub fn start(&mut self, xb: &[f64], rows: &Rows) {
        self.cur_made = self.in_made(rows);
        if self.wide.is_none() && self.cur_made.is_none() {
            load_tile(self.cpu, self.cur, xb, rows);
        }
    }
    /// Loads `next` (when there is one) and returns the tile loaded before it.
    #[inline(always)]
    pub fn advance(&mut self, xb: &[f64], next: Option<&Rows>) -> &[Lane] {
        let this = self.cur_made;
        if let (Some(rows), None) = (next, self.wide) {
            self.cur_made = self.in_made(rows);
            if self.cur_made.is_none() {
                load_tile(self.cpu, self.next, xb, rows);
            }
        }
        std::mem::swap(&mut self.cur, &mut self.next);
        match this {
            Some(at) => &self.made[at..at + self.next.len()],
            None => self.next,
        }
    }
}

/// The AVX-512 shuffles (pulp's safe wrappers of the intrinsics; they inline
/// into the kernels, which pulp compiles for AVX-512).
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use core::arch::x86_64::{__m512d, __m512i};
    use pulp::x86::V4;

    use super::{Lane, LANES};

    #[inline(always)]
    fn load(values: &[f64]) -> __m512d {
        let v: [f64; LANES] = values[..LANES].try_into().expect("a slice of LANES values");
        pulp::cast(v)
    }

    /// A tile of eight consecutive rows of `d = out.len()` features (2 to 7):
    /// the slab is `d` vectors, and each feature is picked out of them, two
    /// vectors per shuffle.
    #[inline(always)]
    pub fn pick(v4: V4, slab: &[f64], out: &mut [Lane]) {
        let a = v4.avx512f;
        let d = out.len();
        let mut v = [a._mm512_setzero_pd(); LANES];
        for (q, v) in v.iter_mut().enumerate().take(d) {
            *v = load(&slab[q * LANES..]);
        }
        for (f, out) in out.iter_mut().enumerate() {
            // lane l is value l * d + f of the slab, in vector pair p when
            // that value is among the pair's 16
            let mut acc = a._mm512_setzero_pd();
            for p in 0..d.div_ceil(2) {
                let at: [i64; LANES] = std::array::from_fn(|l| (l * d + f) as i64 - 16 * p as i64);
                let mask =
                    at.iter().enumerate().fold(0u8, |m, (l, &i)| m | (((0..16).contains(&i) as u8) << l));
                let idx: __m512i = pulp::cast(at.map(|i| i.clamp(0, 15)));
                let hi = if 2 * p + 1 < d { v[2 * p + 1] } else { v[2 * p] };
                let picked = a._mm512_permutex2var_pd(v[2 * p], idx, hi);
                acc = if p == 0 { picked } else { a._mm512_mask_mov_pd(acc, mask, picked) };
            }
            *out = pulp::cast(acc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The portable paths only.
    fn plain_cpu() -> Cpu {
        Cpu {
            #[cfg(target_arch = "x86_64")]
            v4: None,
            #[cfg(target_arch = "x86_64")]
            v3: None,
        }
    }

    /// Every path (shuffles or copies, consecutive or scattered rows) gives
    /// the plain transposition.
    #[test]
    fn tiles_are_the_rows_transposed() {
        let plain = plain_cpu();
        for d in 1..=21 {
            let n = 40;
            let xb: Vec<f64> = (0..n * d).map(|i| i as f64 * 0.5 - 7.0).collect();
            // consecutive, scattered, a short tile; and increasing rows whose last
            // is the first + 7 without being consecutive (a short tile of Hamerly's)
            let layouts = [
                Rows::Listed([3, 4, 5, 6, 7, 8, 9, 10]),
                Rows::From(3),
                Rows::Listed([31, 2, 17, 2, 0, 39, 8, 11]),
                tile_rows(32, 5),
                Rows::Listed([3, 5, 6, 7, 10, 10, 10, 10]),
            ];
            for rows in layouts {
                let idx = match rows {
                    Rows::From(first) => std::array::from_fn(|l| first + l),
                    Rows::Listed(idx) => idx,
                };
                let expect: Vec<Lane> = (0..d).map(|f| std::array::from_fn(|l| xb[idx[l] * d + f])).collect();
                for cpu in [Cpu::detect(), plain] {
                    let mut xt = vec![[f64::NAN; LANES]; d];
                    load_tile(cpu, &mut xt, &xb, &rows);
                    assert_eq!(xt, expect, "d = {d}, rows {idx:?}");
                }
            }
        }
    }

    /// Made tiles are the whole tiles of the rows, each on its own 64-byte line;
    /// none under 2 or over 7 features.
    #[test]
    fn made_tiles_are_every_whole_tile() {
        for d in 1..=9 {
            let n = 8 * TASK_TILES * 2 + 13; // three tasks, a short tile left out
            let x: Vec<f64> = (0..n * d).map(|i| i as f64 * 0.25 - 3.0).collect();
            let made = MadeTiles::new(&x, n, d);
            if !(2..LANES).contains(&d) {
                assert!(made.tiles().is_empty());
                continue;
            }
            assert_eq!(made.tiles().len(), n / LANES * d);
            assert_eq!(made.tiles().as_ptr() as usize % 64, 0);
            for (t, tile) in made.tiles().chunks_exact(d).enumerate() {
                let mut want = vec![[0.0; LANES]; d];
                load_tile(plain_cpu(), &mut want, &x, &Rows::From(t * LANES));
                assert_eq!(tile, &want[..], "d = {d}, tile {t}");
            }
        }
    }

    /// The label compare gives the same bits with or without AVX-512.
    #[test]
    fn differ_marks_the_lanes_whose_label_changes() {
        let plain = plain_cpu();
        let labels = [0, 1, 2, 3, 4, 5, 6, u32::MAX];
        let best = [0, 2, 2, 3, 0, 5, 7, u32::MAX as u64];
        for cpu in [Cpu::detect(), plain] {
            assert_eq!(cpu.differ(&labels, &best), 0b0101_0010);
        }
    }

    /// The label store gives the same labels with or without AVX-512.
    #[test]
    fn store_labels_narrows_every_lane() {
        let best = [0, 2, 2, 3, 0, 5, 7, u32::MAX as u64];
        for cpu in [Cpu::detect(), plain_cpu()] {
            let mut labels = [9; LANES];
            cpu.store_labels(&mut labels, &best);
            assert_eq!(labels, [0, 2, 2, 3, 0, 5, 7, u32::MAX]);
        }
    }
}

//! Probability calibration: isotonic regression (pool adjacent violators) and
//! Platt scaling, as in scikit-learn's `CalibratedClassifierCV`.

use serde::{Deserialize, Serialize};

use crate::error::Result;

use super::data::check_training;
use super::logistic::cholesky_solve;

/// A fitted map from a model's score to a calibrated probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Calibrator {
    /// Piecewise-linear interpolation through `(x, y)` (non-decreasing),
    /// clipped outside `[x[0], x[last]]`.
    Isotonic {
        /// Distinct scores, ascending.
        x: Vec<f64>,
        /// Calibrated probabilities at `x`.
        y: Vec<f64>,
    },
    /// `p = 1 / (1 + exp(-(a s + b)))`.
    Platt {
        /// Slope.
        a: f64,
        /// Offset.
        b: f64,
    },
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl Calibrator {
    /// Isotonic regression of `y` on `score` with weights (ties in `score`
    /// are pooled first).
    pub fn isotonic(score: &[f64], y: &[f64], sample_weight: Option<&[f64]>) -> Result<Self> {
        let x = ndarray::ArrayView2::from_shape((score.len(), 1), score)
            .map_err(|_| crate::error::DataError::Empty)?;
        let w = check_training(&x, y, sample_weight)?;
        let mut order: Vec<usize> = (0..score.len()).collect();
        order.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
        // blocks: (x, weighted sum of y, weight)
        let mut xs: Vec<f64> = Vec::new();
        let mut blocks: Vec<(f64, f64, usize)> = Vec::new(); // (sum wy, sum w, n distinct x)
        for &i in &order {
            if xs.last() == Some(&score[i]) {
                let last = blocks.len() - 1;
                blocks[last].0 += w[i] * y[i];
                blocks[last].1 += w[i];
            } else {
                xs.push(score[i]);
                blocks.push((w[i] * y[i], w[i], 1));
            }
        }
        // pool adjacent violators over the distinct x values
        let mut pooled: Vec<(f64, f64, usize)> = Vec::with_capacity(blocks.len());
        for b in blocks {
            if b.1 <= 0.0 {
                // a zero-weight x takes its neighbour's value
                match pooled.last_mut() {
                    Some(last) => last.2 += 1,
                    None => pooled.push((0.0, 0.0, 1)),
                }
                continue;
            }
            pooled.push(b);
            while pooled.len() > 1 {
                let k = pooled.len();
                let (cur, prev) = (pooled[k - 1], pooled[k - 2]);
                let mean = |p: (f64, f64, usize)| {
                    if p.1 > 0.0 {
                        p.0 / p.1
                    } else {
                        f64::NEG_INFINITY
                    }
                };
                if mean(prev) >= mean(cur) {
                    pooled[k - 2] = (prev.0 + cur.0, prev.1 + cur.1, prev.2 + cur.2);
                    pooled.pop();
                } else {
                    break;
                }
            }
        }
        let mut ys = Vec::with_capacity(xs.len());
        for (s, w, n) in pooled {
            let v = if w > 0.0 { s / w } else { 0.0 };
            ys.extend(std::iter::repeat_n(v, n));
        }
        Ok(Calibrator::Isotonic { x: xs, y: ys })
    }

    /// Platt scaling of a decision score, with Platt's smoothed targets
    /// `(N+ + 1) / (N+ + 2)` and `1 / (N- + 2)` (as scikit-learn).
    pub fn platt(score: &[f64], y: &[f64], sample_weight: Option<&[f64]>) -> Result<Self> {
        let x = ndarray::ArrayView2::from_shape((score.len(), 1), score)
            .map_err(|_| crate::error::DataError::Empty)?;
        let w = check_training(&x, y, sample_weight)?;
        let n_pos: f64 = w.iter().zip(y).map(|(w, y)| w * y).sum();
        let n_neg: f64 = w.iter().sum::<f64>() - n_pos;
        let (hi, lo) = ((n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0));
        let t: Vec<f64> = y.iter().map(|&v| if v > 0.5 { hi } else { lo }).collect();
        let prior = (n_pos + 1.0) / (n_neg + 2.0);
        let (mut a, mut b) = (0.0, prior.ln());
        let objective = |a: f64, b: f64| -> f64 {
            score
                .iter()
                .zip(&t)
                .zip(&w)
                .map(|((&s, &t), &w)| {
                    let z = a * s + b;
                    let softplus = if z > 0.0 { z + (-z).exp().ln_1p() } else { z.exp().ln_1p() };
                    w * (softplus - t * z)
                })
                .sum()
        };
        for _ in 0..100 {
            let (mut g, mut h) = ([0.0; 2], [0.0; 4]);
            for ((&s, &t), &w) in score.iter().zip(&t).zip(&w) {
                let p = sigmoid(a * s + b);
                let r = w * (p - t);
                let q = w * p * (1.0 - p);
                g[0] += r * s;
                g[1] += r;
                h[0] += q * s * s;
                h[1] += q * s;
                h[3] += q;
            }
            h[2] = h[1];
            h[0] += 1e-12;
            h[3] += 1e-12;
            let Some(step) = cholesky_solve(&h, &g) else {
                break;
            };
            let f0 = objective(a, b);
            let mut lr = 1.0;
            while objective(a - lr * step[0], b - lr * step[1]) > f0 && lr > 1e-10 {
                lr *= 0.5;
            }
            a -= lr * step[0];
            b -= lr * step[1];
            if (lr * step[0]).abs().max((lr * step[1]).abs()) < 1e-10 {
                break;
            }
        }
        Ok(Calibrator::Platt { a, b })
    }

    /// Checks a deserialised calibrator (isotonic points: same, non-zero count).
    pub fn check_structure(&self) -> std::result::Result<(), String> {
        match self {
            Calibrator::Isotonic { x, y } if x.is_empty() || x.len() != y.len() => {
                Err("isotonic x and y must be non-empty and of equal length".into())
            }
            _ => Ok(()),
        }
    }

    /// The calibrated probability of each score.
    pub fn transform(&self, score: &[f64]) -> Vec<f64> {
        match self {
            Calibrator::Platt { a, b } => score.iter().map(|s| sigmoid(a * s + b)).collect(),
            Calibrator::Isotonic { x, y } => score
                .iter()
                .map(|&s| {
                    let k = x.partition_point(|&v| v < s);
                    if k == 0 {
                        y[0]
                    } else if k == x.len() {
                        y[x.len() - 1]
                    } else if x[k] == s {
                        y[k]
                    } else {
                        let t = (s - x[k - 1]) / (x[k] - x[k - 1]);
                        y[k - 1] + t * (y[k] - y[k - 1])
                    }
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn isotonic_pools_violators() {
        // y by ascending score: 0, 1, 0, 1 -> pooled 0, .5, .5, 1
        let cal = Calibrator::isotonic(&[0.1, 0.2, 0.3, 0.4], &[0.0, 1.0, 0.0, 1.0], None).unwrap();
        assert_eq!(cal.transform(&[0.1, 0.2, 0.3, 0.4]), vec![0.0, 0.5, 0.5, 1.0]);
        // interpolated between 0.1 (0) and 0.2 (0.5), clipped outside
        assert_relative_eq!(cal.transform(&[0.15])[0], 0.25);
        assert_eq!(cal.transform(&[-5.0, 5.0]), vec![0.0, 1.0]);
    }

    #[test]
    fn platt_is_stationary() {
        let s = [-2.0, -1.0, 0.0, 0.5, 1.0, 2.0, -0.5, 1.5];
        let y = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0];
        let cal = Calibrator::platt(&s, &y, None).unwrap();
        let p = cal.transform(&s);
        let (hi, lo) = (5.0 / 6.0, 1.0 / 6.0);
        let t: Vec<f64> = y.iter().map(|&v| if v > 0.5 { hi } else { lo }).collect();
        let g0: f64 = p.iter().zip(&t).map(|(p, t)| p - t).sum();
        let g1: f64 = p.iter().zip(&t).zip(&s).map(|((p, t), s)| (p - t) * s).sum();
        assert_relative_eq!(g0, 0.0, epsilon = 1e-8);
        assert_relative_eq!(g1, 0.0, epsilon = 1e-8);
    }
}

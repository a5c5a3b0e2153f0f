//! Whether a fit's estimates are determined by the data.
//!
//! Every BTYD fit maximises its likelihood over the log-parameters
//! `θ = ln p`, and the curvature there (the Hessian `H` of the negative
//! log-likelihood in `θ`) says how well the data pin each parameter down.
//! [`diagnose`] reads the eigen-decomposition of `H` and flags
//!
//! * **flat directions**: eigenvalues that are not positive (up to
//!   rounding), i.e. a singular or indefinite Hessian. The likelihood does not
//!   fall when the parameters move that way, so they are not determined at all
//!   and have no standard errors;
//! * **imprecise parameters**: a standard error of `ln p` above
//!   [`MAX_LOG_SE`] = 2. The 95% interval `p·exp(±1.96·2)` then spans a factor
//!   of e^7.8 ≈ 2,500, more than three orders of magnitude: the data do not fix
//!   even the order of magnitude of `p`. (On the CDNOW log every BG/NBD,
//!   MBG/NBD, Pareto/NBD and Gamma-Gamma parameter has a standard error of
//!   `ln p` below 0.12, on its 1/10 sample below 0.6.)
//! * **parameters that ran to an edge** (0 or ∞): the Newton step from the
//!   estimates still moves `ln p` by more than [`EDGE_STEP`] = 0.5. Along an
//!   asymptote `F ≈ F∞ + c·e^(∓θ)` the Newton step is exactly ±1 however far
//!   out the optimiser stopped, and at an interior maximum it is 0, so 0.5
//!   separates the two whatever the size of the data. This catches the edge
//!   on large data, where the optimiser can stop while the curvature is still
//!   large enough for a small standard error; a parameter already flagged
//!   above is not flagged again.
//!
//! The log scale makes every test unit-free: a change of time unit or of
//! currency shifts `ln α` or `ln v` and changes nothing else. The models'
//! meaningful combinations (the BG/NBD's mean dropout probability `a/(a+b)`,
//! say) are checked the same way, so that a fit which cannot tell `a` from `b`
//! still says what the data do determine.

use serde::{Deserialize, Serialize};

use crate::optim::symmetric_eigen;

/// Largest standard error of `ln p` for which `p` counts as determined by
/// the data (see the module docs).
pub const MAX_LOG_SE: f64 = 2.0;

/// Largest Newton step in `ln p` from the estimates for which `p` counts as
/// at an interior maximum rather than running to 0 or ∞ (see the module docs).
pub const EDGE_STEP: f64 = 0.5;

/// Eigenvalues at most this fraction of the largest one count as zero
/// (rounding in the summed Hessian of a few thousand rows is far smaller).
const FLAT: f64 = 1e-10;

/// A flat direction moves a parameter when its unit vector has a squared
/// component above this on it (a direction of only that parameter has 1).
const LOADING: f64 = 0.01;

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// What is wrong with a fit's estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// The Hessian at the estimates is singular or not positive definite.
    FlatLikelihood,
    /// A standard error of `ln p` above [`MAX_LOG_SE`].
    Imprecise,
    /// A parameter ran towards 0 or infinity.
    Edge,
    /// The likelihood keeps rising along a curve towards a limit model (a
    /// Pareto/NBD whose data look as if every customer had the same dropout
    /// rate, say): only a combination of the parameters is determined.
    Ridge,
}

/// One reason not to take a fit's estimates at face value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitIssue {
    /// What kind of problem.
    pub kind: IssueKind,
    /// The parameters it concerns.
    pub parameters: Vec<String>,
    /// What it means, in plain words.
    pub message: String,
}

/// A function of the parameters that the data determine even though some
/// parameters are not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeterminedQuantity {
    /// The formula, e.g. `a/(a+b)`.
    pub name: String,
    /// What it is, e.g. "the mean probability of dropping out after a purchase".
    pub meaning: String,
    /// Its value at the estimates.
    pub value: f64,
    /// Lower end of its 95% interval (on the log scale, so positive).
    pub lower: f64,
    /// Upper end of its 95% interval.
    pub upper: f64,
}

/// A combination of a model's parameters worth reporting.
pub(crate) struct Combination {
    /// The formula in the model's parameter names.
    pub name: &'static str,
    /// What it is, in plain words.
    pub meaning: &'static str,
    /// Its value from the natural parameters (NaN where undefined).
    pub value: fn(&[f64]) -> f64,
}

/// `r/α`, for the models whose first two parameters are the gamma mixing
/// distribution of purchase rates (BG/NBD, MBG/NBD, Pareto/NBD).
pub(crate) const PURCHASE_RATE: Combination = Combination {
    name: "r/alpha",
    meaning: "the mean purchase rate of active customers per time unit",
    value: |p| p[0] / p[1],
};

/// A model's parameter names (in the order of its parameter vector) and its
/// meaningful combinations.
pub(crate) struct Parameterisation {
    pub names: &'static [&'static str],
    pub combinations: &'static [Combination],
}

/// The outcome of [`diagnose`]: both empty for a fit the data determine.
#[derive(Debug, Default)]
pub(crate) struct Identification {
    pub issues: Vec<FitIssue>,
    pub determined: Vec<DeterminedQuantity>,
}

/// Flags the parameters the data do not determine (see the module docs).
///
/// `log_hessian` (row-major) and `log_gradient` are those of the total
/// (penalised) negative log-likelihood in `θ = ln p` at the estimates
/// `natural`.
pub(crate) fn diagnose(
    model: &Parameterisation,
    natural: &[f64],
    log_hessian: &[f64],
    log_gradient: &[f64],
) -> Identification {
    let n = natural.len();
    let names = model.names;
    if log_hessian.iter().chain(log_gradient).any(|v| !v.is_finite()) {
        return Identification {
            issues: vec![FitIssue {
                kind: IssueKind::FlatLikelihood,
                parameters: names.iter().map(|s| s.to_string()).collect(),
                message:
                    "The curvature of the likelihood at the estimates is not finite, so how well the data \
                          determine the parameters cannot be measured."
                        .into(),
            }],
            determined: Vec::new(),
        };
    }
    let curvature = Curvature::new(log_hessian, n);
    let unit = |i: usize| -> Vec<f64> { (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect() };
    let on_flat: Vec<bool> = (0..n).map(|i| curvature.moves_flat(&unit(i))).collect();
    let log_se: Vec<f64> = (0..n).map(|i| curvature.log_se(&unit(i))).collect();
    let step = curvature.newton_step(log_gradient);
    let flat: Vec<usize> = (0..n).filter(|&i| on_flat[i]).collect();
    let imprecise: Vec<usize> = (0..n).filter(|&i| !on_flat[i] && log_se[i] > MAX_LOG_SE).collect();
    // Only for parameters with a usable standard error: along a ridge the step of an undetermined
    // parameter points wherever the ridge bends, so "towards 0" or "towards infinity" would mislead.
    let edge: Vec<usize> =
        (0..n).filter(|&i| !on_flat[i] && log_se[i] <= MAX_LOG_SE && step[i].abs() > EDGE_STEP).collect();
    let mut issues = Vec::new();
    if !flat.is_empty() {
        let (list, verb) = (join(names, &flat), verb(&flat));
        let (them, s) = if flat.len() > 1 { ("them", "s") } else { ("it", "") };
        issues.push(FitIssue {
            kind: IssueKind::FlatLikelihood,
            parameters: flat.iter().map(|&i| names[i].to_string()).collect(),
            message: format!(
                "{list} {verb} not determined by the data: the likelihood is flat (or curves upwards) along a \
                 direction that moves {them} (its Hessian at the estimates is singular or not positive \
                 definite), so any standard error{s} would be meaningless."
            ),
        });
    }
    if !imprecise.is_empty() {
        let values = imprecise.iter().map(|&i| format!("{} = {}", names[i], number(natural[i]))).collect();
        let ses = imprecise.iter().map(|&i| number(log_se[i])).collect();
        let spans = imprecise.iter().map(|&i| orders(log_se[i])).collect();
        let many = imprecise.len() > 1;
        issues.push(FitIssue {
            kind: IssueKind::Imprecise,
            parameters: imprecise.iter().map(|&i| names[i].to_string()).collect(),
            message: format!(
                "{} {} not determined by the data: the standard error{s} of {} {} {}, so {} 95% interval{s} \
                 span{v} {} orders of magnitude.",
                and_list(values),
                verb(&imprecise),
                and_list(imprecise.iter().map(|&i| format!("ln {}", names[i])).collect()),
                if many { "are" } else { "is" },
                and_list(ses),
                if many { "their" } else { "its" },
                and_list(spans),
                s = if many { "s" } else { "" },
                v = if many { "" } else { "s" },
            ),
        });
    }
    if !edge.is_empty() {
        let runs = edge
            .iter()
            .map(|&i| format!("{} ran towards {}", names[i], if step[i] > 0.0 { "infinity" } else { "0" }))
            .collect();
        issues.push(FitIssue {
            kind: IssueKind::Edge,
            parameters: edge.iter().map(|&i| names[i].to_string()).collect(),
            message: format!(
                "{}: the likelihood still rises that way, so its maximum lies at the edge of the parameter \
                 space and the estimate{} only where the optimiser stopped.",
                and_list(runs),
                if edge.len() > 1 { "s are" } else { " is" }
            ),
        });
    }
    if issues.is_empty() {
        return Identification::default();
    }
    let flagged: Vec<usize> =
        (0..n).filter(|&i| on_flat[i] || log_se[i] > MAX_LOG_SE || step[i].abs() > EDGE_STEP).collect();
    let determined = model
        .combinations
        .iter()
        .filter_map(|c| {
            let value = (c.value)(natural);
            let g = log_gradient_of(c.value, natural)?;
            let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
            let involved = flagged.iter().any(|&i| g[i].abs() > 0.1 * norm);
            let se = curvature.log_se(&g);
            let moves = g.iter().zip(&step).map(|(a, b)| a * b).sum::<f64>().abs();
            let (lower, upper) = (value * (-Z95 * se).exp(), value * (Z95 * se).exp());
            (involved && se <= MAX_LOG_SE && moves <= EDGE_STEP && lower > 0.0 && upper.is_finite()).then(
                || DeterminedQuantity { name: c.name.into(), meaning: c.meaning.into(), value, lower, upper },
            )
        })
        .collect();
    Identification { issues, determined }
}

/// The eigen-decomposition of the Hessian in `θ`, split into flat and
/// curved directions.
struct Curvature {
    n: usize,
    values: Vec<f64>,
    vectors: Vec<f64>,
    flat: Vec<bool>,
}

impl Curvature {
    fn new(h: &[f64], n: usize) -> Self {
        let (values, vectors) = symmetric_eigen(h, n);
        let largest = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let flat = values.iter().map(|&v| v <= FLAT * largest).collect();
        Curvature { n, values, vectors, flat }
    }

    /// `u · v_k`.
    fn along(&self, u: &[f64], k: usize) -> f64 {
        (0..self.n).map(|i| u[i] * self.vectors[i * self.n + k]).sum()
    }

    /// Whether moving along a flat direction changes `u · θ`.
    fn moves_flat(&self, u: &[f64]) -> bool {
        let norm2: f64 = u.iter().map(|v| v * v).sum();
        (0..self.n).any(|k| self.flat[k] && self.along(u, k).powi(2) > LOADING * norm2)
    }

    /// The standard error of `u · θ` (infinite when a flat direction moves it).
    fn log_se(&self, u: &[f64]) -> f64 {
        if self.moves_flat(u) {
            return f64::INFINITY;
        }
        (0..self.n)
            .filter(|&k| !self.flat[k])
            .map(|k| self.along(u, k).powi(2) / self.values[k])
            .sum::<f64>()
            .sqrt()
    }

    /// The Newton step `-H⁺ g` within the curved directions.
    fn newton_step(&self, g: &[f64]) -> Vec<f64> {
        let mut step = vec![0.0; self.n];
        for k in (0..self.n).filter(|&k| !self.flat[k]) {
            let c = self.along(g, k) / self.values[k];
            for (i, s) in step.iter_mut().enumerate() {
                *s -= c * self.vectors[i * self.n + k];
            }
        }
        step
    }
}

/// `∂ ln f / ∂ ln p_i` by central differences; `None` where `f` is not
/// positive and finite.
fn log_gradient_of(f: fn(&[f64]) -> f64, p: &[f64]) -> Option<Vec<f64>> {
    const H: f64 = 1e-5;
    let ok = |v: f64| (v.is_finite() && v > 0.0).then_some(v.ln());
    ok(f(p))?;
    let mut q = p.to_vec();
    (0..p.len())
        .map(|i| {
            q[i] = p[i] * H.exp();
            let up = ok(f(&q));
            q[i] = p[i] * (-H).exp();
            let down = ok(f(&q));
            q[i] = p[i];
            Some((up? - down?) / (2.0 * H))
        })
        .collect()
}

/// Orders of magnitude spanned by a 95% interval with this standard error of `ln p`.
fn orders(log_se: f64) -> String {
    let span = 2.0 * Z95 * log_se / std::f64::consts::LN_10;
    if span < 10.0 {
        format!("{span:.1}")
    } else {
        format!("{span:.0}")
    }
}

/// A value with four significant digits, in scientific notation when very
/// large or small.
pub(crate) fn number(v: f64) -> String {
    if v != 0.0 && !(1e-3..1e6).contains(&v.abs()) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn verb(items: &[usize]) -> &'static str {
    if items.len() > 1 {
        "are"
    } else {
        "is"
    }
}

fn join(names: &[&str], items: &[usize]) -> String {
    and_list(items.iter().map(|&i| names[i].to_string()).collect())
}

/// "x", "x and y", "x, y and z".
fn and_list(mut items: Vec<String>) -> String {
    match items.len() {
        0 | 1 => items.pop().unwrap_or_default(),
        _ => {
            let last = items.pop().unwrap_or_default();
            format!("{} and {last}", items.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    const TWO: Parameterisation = Parameterisation {
        names: &["a", "b"],
        combinations: &[Combination { name: "a/b", meaning: "the ratio", value: |p| p[0] / p[1] }],
    };

    #[test]
    fn a_well_curved_maximum_has_no_issues() {
        // H = diag(100, 400): se(ln a) = 0.1, se(ln b) = 0.05
        let id = diagnose(&TWO, &[2.0, 3.0], &[100.0, 0.0, 0.0, 400.0], &[0.0, 0.0]);
        assert!(id.issues.is_empty() && id.determined.is_empty());
    }

    #[test]
    fn a_ridge_flags_both_parameters_and_keeps_their_ratio() {
        // H = big u uᵀ + small w wᵀ with u = (1, -1)/√2, w = (1, 1)/√2: the
        // ratio a/b is well determined, the product a·b is not
        let (big, small) = (1e4, 1e-2);
        let h = [(big + small) / 2.0, (small - big) / 2.0, (small - big) / 2.0, (big + small) / 2.0];
        let id = diagnose(&TWO, &[2.0, 400.0], &h, &[0.0, 0.0]);
        assert_eq!(id.issues.len(), 1);
        let issue = &id.issues[0];
        assert_eq!(issue.kind, IssueKind::Imprecise);
        assert_eq!(issue.parameters, ["a", "b"]);
        // var(ln a) = eᵀ H⁻¹ e = (1/big + 1/small) / 2
        let se = ((1.0 / small + 1.0 / big) / 2.0).sqrt();
        assert!(
            issue.message.contains(&format!("are {} and {}", number(se), number(se))),
            "{}",
            issue.message
        );
        assert!(issue.message.starts_with("a = 2 and b = 400 are not determined"), "{}", issue.message);
        assert_eq!(id.determined.len(), 1);
        let ratio = &id.determined[0];
        // var(ln a - ln b) = 2 / big
        let se_ratio = (2.0 / big).sqrt();
        assert_relative_eq!(ratio.value, 0.005);
        assert_relative_eq!(ratio.lower, 0.005 * (-Z95 * se_ratio).exp(), max_relative = 1e-8);
        assert_relative_eq!(ratio.upper, 0.005 * (Z95 * se_ratio).exp(), max_relative = 1e-8);
    }

    #[test]
    fn a_singular_hessian_names_the_flat_parameter() {
        // b does not enter the likelihood at all
        let id = diagnose(&TWO, &[2.0, 3.0], &[50.0, 0.0, 0.0, 0.0], &[0.0, 0.0]);
        assert_eq!(id.issues.len(), 1);
        assert_eq!(id.issues[0].kind, IssueKind::FlatLikelihood);
        assert_eq!(id.issues[0].parameters, ["b"]);
        // indefinite: curving upwards along a
        let id = diagnose(&TWO, &[2.0, 3.0], &[-5.0, 0.0, 0.0, 50.0], &[0.0, 0.0]);
        assert_eq!(id.issues[0].parameters, ["a"]);
        let id = diagnose(&TWO, &[2.0, 3.0], &[f64::NAN, 0.0, 0.0, 1.0], &[0.0, 0.0]);
        assert_eq!(id.issues[0].parameters, ["a", "b"]);
    }

    #[test]
    fn an_asymptote_is_an_edge_whatever_the_curvature() {
        // F = F∞ + c e^(-θb): gradient -c e^(-θb), curvature c e^(-θb), Newton step +1.
        // With c e^(-θb) = 50, se(ln b) = 0.14 is small: only the step gives it away.
        let id = diagnose(&TWO, &[2.0, 1e5], &[100.0, 0.0, 0.0, 50.0], &[0.0, -50.0]);
        assert_eq!(id.issues.len(), 1);
        assert_eq!(id.issues[0].kind, IssueKind::Edge);
        assert!(id.issues[0].message.starts_with("b ran towards infinity"), "{}", id.issues[0].message);
        let id = diagnose(&TWO, &[1e-7, 3.0], &[30.0, 0.0, 0.0, 50.0], &[30.0, 0.0]);
        assert!(id.issues[0].message.starts_with("a ran towards 0"), "{}", id.issues[0].message);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(716.549_3), "716.5");
        assert_eq!(number(0.001_634_2), "0.001634");
        assert_eq!(number(2.0), "2");
        assert_eq!(number(3.1e-7), "3.100e-7");
        assert_eq!(number(15_668.0), "15668");
        assert_eq!(and_list(vec!["x".into(), "y".into(), "z".into()]), "x, y and z");
        assert_eq!(orders(41.6), "71");
        assert_eq!(orders(2.0), "3.4");
    }
}

//! The Isolation Forest (Liu, Ting and Zhou 2008) with scikit-learn's semantics, over a
//! plain row-major `f32` matrix (sklearn casts its input to float32 too):
//!
//! - `n_estimators` trees (100), each on ψ = min(256, n) rows drawn without replacement;
//! - depth limit ceil(log2(max(ψ, 2)));
//! - at each node a feature drawn uniformly among those not constant in the node (sklearn
//!   draws and skips constant ones; a node where all are constant is a leaf), and a threshold
//!   uniform in [min, max); `x <= t` goes left;
//! - path length h(x) = depth of the leaf + c(n_leaf), c(1) = 0, c(2) = 1,
//!   c(n) = 2(ln(n-1) + γ) - 2(n-1)/n; score s(x) = 2^(-E h(x) / c(ψ)).
//!
//! Determinism: the random streams are sklearn's own (`sklearn_rng`: numpy's legacy MT19937
//! `RandomState` for the per-tree seeds and row samples, the splitter's xorshift for features
//! and thresholds), drawn in sklearn's order, one seed per tree, so the same seed grows the
//! same trees as `IsolationForest(random_state=seed)` on the same float32 data, and fitting
//! trees in parallel later cannot change them. `tests/anomaly.rs` checks the scores against
//! sklearn 1.9.1's.

use super::sklearn_rng::{MAX_INT, NpRandom, RandR, sample_without_replacement};
use serde::{Deserialize, Serialize};

/// Euler–Mascheroni constant, as numpy's `np.euler_gamma`.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ForestError {
    #[error("no traces to train on")]
    Empty,
    #[error("no feature columns to train on")]
    NoFeatures,
    #[error("n_estimators must be at least 1")]
    NoTrees,
    #[error("max_samples must be at least 1, found {0}")]
    BadMaxSamples(usize),
    #[error("the seed must be in 0..=4294967295 (numpy's range), found {0}")]
    BadSeed(u64),
    #[error("a feature value is not finite (row {row}, column {col})")]
    NotFinite { row: usize, col: usize },
}

/// Row-major data: `rows` x `cols`.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    /// A matrix from rows of equal length (`cols` given so that zero rows still have a width).
    pub fn from_rows<R: AsRef<[f64]>>(cols: usize, rows: &[R]) -> Self {
        let mut data = Vec::with_capacity(rows.len() * cols);
        for r in rows {
            data.extend(r.as_ref().iter().map(|&v| v as f32));
        }
        Matrix { rows: rows.len(), cols, data }
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

/// c(n): the average path length of an unsuccessful BST search, sklearn's
/// `_average_path_length` (c(0) = c(1) = 0, c(2) = 1).
pub fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

/// ceil(log2(max(ψ, 2))): sklearn's `max_depth` for a tree of ψ samples.
pub fn depth_limit(psi: usize) -> usize {
    let psi = psi.max(2);
    // ceil(log2(psi)) exactly, without floating point: bits needed for psi - 1.
    (usize::BITS - (psi - 1).leading_zeros()) as usize
}

/// How many rows each tree sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MaxSamples {
    /// min(256, n), sklearn's `"auto"`.
    Auto,
    Count(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ForestParams {
    pub n_estimators: usize,
    pub max_samples: MaxSamples,
    pub seed: u64,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams { n_estimators: 100, max_samples: MaxSamples::Auto, seed: 42 }
    }
}

/// A node: a split (`feature`, `threshold`, children) or a leaf with its path length
/// `depth + c(n_leaf)` precomputed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Node {
    Split { f: u32, t: f32, l: u32, r: u32 },
    Leaf { h: f64 },
}

/// One isolation tree; node 0 is the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    /// h(x): the leaf's depth plus c(size of the leaf). A malformed tree (a child index out
    /// of range, or a cycle, from a hand-edited model file) ends the walk with the depth
    /// reached: a walk longer than the node count cannot be a path in a tree.
    pub fn path_length(&self, x: &[f32]) -> f64 {
        let mut i = 0usize;
        let mut depth = 0.0;
        for _ in 0..=self.nodes.len() {
            match self.nodes.get(i) {
                Some(Node::Leaf { h }) => return *h,
                Some(Node::Split { f, t, l, r }) => {
                    let v = x.get(*f as usize).copied().unwrap_or(0.0);
                    i = if v <= *t { *l as usize } else { *r as usize };
                    depth += 1.0;
                }
                None => return depth,
            }
        }
        depth
    }
}

/// A fitted forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    /// ψ: rows per tree; the score is normalised by c(ψ).
    #[serde(rename = "psi")]
    pub max_samples: usize,
    pub max_depth: usize,
    pub n_features: usize,
    pub trees: Vec<Tree>,
}

/// The largest f32 not above `t`: with f32 data, `x <= t` and `x <= floor32(t)` agree.
fn floor_f32(t: f64) -> f32 {
    let r = t as f32;
    if f64::from(r) > t { r.next_down() } else { r }
}

/// sklearn's `FEATURE_THRESHOLD`: a feature whose max is within this of its min is constant.
const FEATURE_THRESHOLD: f32 = 1e-7;

/// sklearn's depth-first builder with the random splitter (`max_features=1`). The splitter's
/// `features` and `constant_features` arrays persist across nodes, as in `_splitter.pyx`:
/// the draw order, and so the tree, depends on them.
struct Builder<'a> {
    data: &'a Matrix,
    max_depth: usize,
    rng: RandR,
    nodes: Vec<Node>,
    features: Vec<usize>,
    constant_features: Vec<usize>,
}

impl Builder<'_> {
    fn value(&self, row: usize, f: usize) -> f32 {
        self.data.data[row * self.data.cols + f]
    }

    /// `node_split_random`: (feature, threshold, rows on the left) or None when every feature
    /// is constant here; updates the known-constant count for the children.
    fn split(
        &mut self,
        rows: &mut [usize],
        n_constants: &mut usize,
    ) -> Option<(usize, f32, usize)> {
        let n_known = *n_constants;
        let mut f_i = self.features.len();
        let (mut visited, mut found, mut drawn) = (0usize, 0usize, 0usize);
        let mut total = n_known;
        let mut best = None;
        // Exactly one non-constant feature is evaluated (max_features = 1); constants drawn
        // on the way are skipped and remembered.
        while f_i > total && (visited < 1 || visited <= found + drawn) {
            visited += 1;
            let mut f_j = self.rng.rand_int(drawn, f_i - found);
            if f_j < n_known {
                self.features.swap(drawn, f_j);
                drawn += 1;
                continue;
            }
            f_j += found;
            let feature = self.features[f_j];
            let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
            for &r in rows.iter() {
                let v = self.value(r, feature);
                lo = lo.min(v);
                hi = hi.max(v);
            }
            if hi <= lo + FEATURE_THRESHOLD {
                self.features.swap(f_j, total);
                found += 1;
                total += 1;
                continue;
            }
            f_i -= 1;
            self.features.swap(f_i, f_j);
            let mut t = self.rng.rand_uniform(f64::from(lo), f64::from(hi));
            if t == f64::from(hi) {
                t = f64::from(lo);
            }
            let t = floor_f32(t);
            let mut pos = 0;
            for i in 0..rows.len() {
                if self.value(rows[i], feature) <= t {
                    rows.swap(i, pos);
                    pos += 1;
                }
            }
            if pos == 0 || pos == rows.len() {
                continue; // min_samples_leaf = 1 not met (cannot happen with t in [lo, hi))
            }
            best = Some((feature, t, pos));
        }
        // sklearn restores the known constants' order for siblings and records new ones.
        self.features[..n_known].copy_from_slice(&self.constant_features[..n_known]);
        let (head, new) = (n_known, n_known + found);
        let fresh: Vec<usize> = self.features[head..new].to_vec();
        self.constant_features[head..new].copy_from_slice(&fresh);
        *n_constants = total;
        best
    }

    /// Builds the subtree over `rows` at `depth` and returns its node index.
    fn build(&mut self, rows: &mut [usize], depth: usize, mut n_constants: usize) -> u32 {
        let at = self.nodes.len();
        self.nodes.push(Node::Leaf { h: depth as f64 + average_path_length(rows.len()) });
        if depth >= self.max_depth || rows.len() < 2 {
            return at as u32;
        }
        let Some((f, t, pos)) = self.split(rows, &mut n_constants) else { return at as u32 };
        let (left_rows, right_rows) = rows.split_at_mut(pos);
        let l = self.build(left_rows, depth + 1, n_constants);
        let r = self.build(right_rows, depth + 1, n_constants);
        self.nodes[at] = Node::Split { f: f as u32, t, l, r };
        at as u32
    }
}

impl Forest {
    /// Fits a forest on `data`, drawing from the same random streams as sklearn's
    /// `IsolationForest(random_state=seed)` (see `sklearn_rng`).
    pub fn fit(data: &Matrix, params: &ForestParams) -> Result<Forest, ForestError> {
        if data.rows == 0 {
            return Err(ForestError::Empty);
        }
        if data.cols == 0 {
            return Err(ForestError::NoFeatures);
        }
        if params.n_estimators == 0 {
            return Err(ForestError::NoTrees);
        }
        let seed = u32::try_from(params.seed).map_err(|_| ForestError::BadSeed(params.seed))?;
        if let Some(i) = data.data.iter().position(|v| !v.is_finite()) {
            return Err(ForestError::NotFinite { row: i / data.cols, col: i % data.cols });
        }
        let psi = match params.max_samples {
            MaxSamples::Auto => data.rows.min(256),
            MaxSamples::Count(0) => return Err(ForestError::BadMaxSamples(0)),
            // sklearn warns and uses n when max_samples > n.
            MaxSamples::Count(k) => k.min(data.rows),
        };
        let max_depth = depth_limit(psi);
        // BaseBagging: one seed per tree from RandomState(seed).randint(MAX_INT, size=T).
        let mut master = NpRandom::new(seed);
        let seeds: Vec<u32> =
            (0..params.n_estimators).map(|_| master.randint(0, MAX_INT) as u32).collect();
        let trees = seeds
            .into_iter()
            .map(|tree_seed| {
                // The estimator's random_state: RandomState(seed_i).randint(MAX_INT); its
                // splitter's state: RandomState(that).randint(0, RAND_R_MAX).
                let estimator_seed = NpRandom::new(tree_seed).randint(0, MAX_INT) as u32;
                let splitter_seed = NpRandom::new(estimator_seed).randint(0, MAX_INT) as u32;
                // The rows: features first (all of them: no draws), then ψ of n rows.
                let mut bag = NpRandom::new(tree_seed);
                let _ = sample_without_replacement(&mut bag, data.cols, data.cols);
                let mut rows = sample_without_replacement(&mut bag, data.rows, psi);
                let mut b = Builder {
                    data,
                    max_depth,
                    rng: RandR::new(splitter_seed),
                    nodes: Vec::with_capacity(2 * psi),
                    features: (0..data.cols).collect(),
                    constant_features: (0..data.cols).collect(),
                };
                b.build(&mut rows, 0, 0);
                Tree { nodes: b.nodes }
            })
            .collect();
        Ok(Forest { max_samples: psi, max_depth, n_features: data.cols, trees })
    }

    /// E h(x): the mean path length over the trees.
    pub fn mean_path_length(&self, x: &[f32]) -> f64 {
        let sum: f64 = self.trees.iter().map(|t| t.path_length(x)).sum();
        sum / self.trees.len().max(1) as f64
    }

    /// s(x) = 2^(-E h(x) / c(ψ)) in (0, 1]; above 0.5 leans anomalous. With c(ψ) = 0 (ψ = 1)
    /// the ratio is taken as 1, as sklearn does, giving 0.5.
    pub fn score(&self, x: &[f32]) -> f64 {
        let c = average_path_length(self.max_samples);
        let ratio = if c == 0.0 { 1.0 } else { self.mean_path_length(x) / c };
        (-ratio).exp2()
    }

    /// Scores every row of `data`.
    pub fn score_all(&self, data: &Matrix) -> Vec<f64> {
        (0..data.rows).map(|i| self.score(data.row(i))).collect()
    }
}

/// sklearn's `offset_`: -0.5 for `contamination="auto"`, else the `contamination`
/// percentile of the training `score_samples` (= -s). A row is anomalous when
/// `-s - offset < 0`, i.e. when s > -offset.
pub fn offset_for(training_scores: &[f64], contamination: Option<f64>) -> f64 {
    match contamination {
        None => -0.5,
        Some(c) => {
            let neg: Vec<f64> = training_scores.iter().map(|s| -s).collect();
            super::stats::percentile_sorted(&super::stats::sorted(&neg), 100.0 * c).unwrap_or(-0.5)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_of_n_is_exact() {
        assert_eq!(average_path_length(0), 0.0);
        assert_eq!(average_path_length(1), 0.0);
        assert_eq!(average_path_length(2), 1.0);
        // 2(ln 2 + γ) - 4/3
        let c3 = 2.0 * (2f64.ln() + EULER_GAMMA) - 4.0 / 3.0;
        assert_eq!(average_path_length(3), c3);
        // sklearn 1.9.1: _average_path_length([256]) = 10.244770920119917
        assert!((average_path_length(256) - 10.244_770_920_119_917).abs() < 1e-12);
    }

    #[test]
    fn depth_limit_is_ceil_log2() {
        let cases = [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (255, 8), (256, 8), (257, 9)];
        for (psi, d) in cases {
            assert_eq!(depth_limit(psi), d, "psi {psi}");
        }
    }

    #[test]
    fn offsets_auto_and_contamination() {
        assert_eq!(offset_for(&[0.9, 0.1], None), -0.5);
        // -s sorted = [-0.9, -0.3, -0.2, -0.1]; the 25th percentile is at position 0.75:
        // -0.9 + 0.6 * 0.75 (numpy's linear interpolation).
        let off = offset_for(&[0.1, 0.2, 0.3, 0.9], Some(0.25));
        assert!((off - -0.45).abs() < 1e-12, "{off}");
    }

    #[test]
    fn hand_built_two_tree_forest_has_known_path_lengths() {
        // Tree 1: x0 <= 5 ? leaf(depth 1, 2 samples) : (x1 <= 1 ? leaf(2, 1) : leaf(2, 3))
        let t1 = Tree {
            nodes: vec![
                Node::Split { f: 0, t: 5.0, l: 1, r: 2 },
                Node::Leaf { h: 1.0 + average_path_length(2) },
                Node::Split { f: 1, t: 1.0, l: 3, r: 4 },
                Node::Leaf { h: 2.0 + average_path_length(1) },
                Node::Leaf { h: 2.0 + average_path_length(3) },
            ],
        };
        // Tree 2: x1 <= 0 ? leaf(1, 1) : leaf(1, 5)
        let t2 = Tree {
            nodes: vec![
                Node::Split { f: 1, t: 0.0, l: 1, r: 2 },
                Node::Leaf { h: 1.0 },
                Node::Leaf { h: 1.0 + average_path_length(5) },
            ],
        };
        let forest = Forest { max_samples: 6, max_depth: 3, n_features: 2, trees: vec![t1, t2] };
        let x = [7.0, 0.5]; // tree 1: right, then left: h = 2; tree 2: right: h = 1 + c(5)
        let expected_h = (2.0 + 1.0 + average_path_length(5)) / 2.0;
        assert_eq!(forest.mean_path_length(&x), expected_h);
        let expected_s = 2f64.powf(-expected_h / average_path_length(6));
        assert!((forest.score(&x) - expected_s).abs() < 1e-15);
        let y = [5.0, 0.0]; // x <= t goes left in both: h = 1 + 1 and 1
        assert_eq!(forest.mean_path_length(&y), 1.5);
    }

    #[test]
    fn fit_respects_psi_depth_and_isolates_an_outlier() {
        let mut rows: Vec<[f64; 2]> = (0..500).map(|i| [(i % 10) as f64, (i % 7) as f64]).collect();
        rows.push([1000.0, 1000.0]);
        let m = Matrix::from_rows(2, &rows);
        let f = Forest::fit(&m, &ForestParams::default()).unwrap();
        assert_eq!((f.max_samples, f.max_depth, f.trees.len()), (256, 8, 100));
        let outlier = f.score(&[1000.0, 1000.0]);
        let inlier = f.score(&[5.0, 3.0]);
        assert!(outlier > 0.6 && inlier < 0.5, "{outlier} {inlier}");
        // Same seed, same forest; another seed, another forest.
        assert_eq!(f, Forest::fit(&m, &ForestParams::default()).unwrap());
        let other = ForestParams { seed: 7, ..ForestParams::default() };
        assert_ne!(f, Forest::fit(&m, &other).unwrap());
    }

    #[test]
    fn constant_columns_are_never_split_and_one_row_scores_half() {
        let rows: Vec<[f64; 2]> = (0..50).map(|i| [3.0, i as f64]).collect();
        let f = Forest::fit(&Matrix::from_rows(2, &rows), &ForestParams::default()).unwrap();
        for t in &f.trees {
            for n in &t.nodes {
                if let Node::Split { f, .. } = n {
                    assert_eq!(*f, 1);
                }
            }
        }
        let one = Forest::fit(&Matrix::from_rows(1, &[[1.0]]), &ForestParams::default()).unwrap();
        assert_eq!(one.score(&[9.0]), 0.5);
        let dup = Matrix::from_rows(1, &[[2.0], [2.0], [2.0]]);
        let all_const = Forest::fit(&dup, &ForestParams::default()).unwrap();
        // A root leaf of 3 identical rows: h = c(3), s = 2^-1.
        assert_eq!(all_const.trees[0].nodes, vec![Node::Leaf { h: average_path_length(3) }]);
        // The mean of 100 equal path lengths is c(3) up to rounding: s = 0.5 within 1e-15.
        assert!((all_const.score(&[2.0]) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let p = ForestParams::default();
        assert_eq!(
            Forest::fit(&Matrix::from_rows::<[f64; 1]>(1, &[]), &p),
            Err(ForestError::Empty)
        );
        let nan = Matrix::from_rows(1, &[[f64::NAN]]);
        assert_eq!(Forest::fit(&nan, &p), Err(ForestError::NotFinite { row: 0, col: 0 }));
    }
}

//! The random streams scikit-learn's IsolationForest draws from, reproduced so that the same
//! seed grows the same trees: numpy's legacy `RandomState` (MT19937 seeded by `init_genrand`,
//! masked-rejection `randint`, `permutation`), sklearn's `sample_without_replacement` and the
//! tree splitter's `our_rand_r` xorshift (`rand_int`, `rand_uniform`). Pure integer
//! arithmetic: no platform or version dependence beyond the algorithms themselves.

use crate::shape::mt::Mt19937;

/// `np.iinfo(np.int32).max`: sklearn's MAX_INT and the splitter's RAND_R_MAX.
pub const MAX_INT: u64 = 0x7FFF_FFFF;

/// numpy's legacy `RandomState(seed)`.
pub struct NpRandom(Mt19937);

impl NpRandom {
    pub fn new(seed: u32) -> Self {
        NpRandom(Mt19937::new(seed))
    }

    fn next_u64(&mut self) -> u64 {
        let hi = u64::from(self.0.next_u32());
        (hi << 32) | u64::from(self.0.next_u32())
    }

    /// A value in [0, rng] by masked rejection (numpy's `random_bounded_uint64`, masked).
    fn bounded(&mut self, rng: u64) -> u64 {
        if rng == 0 {
            return 0;
        }
        if rng == 0xFFFF_FFFF {
            return u64::from(self.0.next_u32());
        }
        let mask = u64::MAX >> rng.leading_zeros();
        loop {
            let v = if rng <= 0xFFFF_FFFF {
                u64::from(self.0.next_u32()) & mask
            } else {
                self.next_u64() & mask
            };
            if v <= rng {
                return v;
            }
        }
    }

    /// `randint(low, high)`: a value in [low, high).
    pub fn randint(&mut self, low: u64, high: u64) -> u64 {
        low + self.bounded(high - 1 - low)
    }

    /// numpy's `random_interval(max)`: [0, max] by masked rejection (used by `shuffle`).
    fn interval(&mut self, max: u64) -> u64 {
        self.bounded(max)
    }

    /// `permutation(n)`: `arange(n)` shuffled by the legacy Fisher–Yates.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut a: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.interval(i as u64) as usize;
            a.swap(i, j);
        }
        a
    }
}

/// sklearn's `sample_without_replacement(n_population, n_samples, method="auto")`.
pub fn sample_without_replacement(
    rng: &mut NpRandom,
    population: usize,
    samples: usize,
) -> Vec<usize> {
    let ratio = if population == 0 { 1.0 } else { samples as f64 / population as f64 };
    if ratio > 0.01 && ratio < 0.99 {
        let mut p = rng.permutation(population);
        p.truncate(samples);
        return p;
    }
    if ratio < 0.2 {
        // Tracking selection: draw until unseen.
        let mut seen = std::collections::HashSet::with_capacity(samples);
        let mut out = Vec::with_capacity(samples);
        for _ in 0..samples {
            let mut j = rng.randint(0, population as u64) as usize;
            while seen.contains(&j) {
                j = rng.randint(0, population as u64) as usize;
            }
            seen.insert(j);
            out.push(j);
        }
        return out;
    }
    // Reservoir sampling.
    let mut out: Vec<usize> = (0..samples).collect();
    for i in samples..population {
        let j = rng.randint(0, i as u64 + 1) as usize;
        if j < samples {
            out[j] = i;
        }
    }
    out
}

/// The tree splitter's generator (`sklearn/utils/_random.pxd`, `our_rand_r`).
pub struct RandR(u32);

impl RandR {
    pub fn new(seed: u32) -> Self {
        RandR(seed)
    }

    fn next(&mut self) -> u32 {
        let mut s = self.0;
        if s == 0 {
            s = 1; // DEFAULT_SEED: the xorshift is stuck at 0
        }
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        self.0 = s;
        s % (MAX_INT as u32 + 1)
    }

    /// `rand_int(low, high)`: [low, high).
    pub fn rand_int(&mut self, low: usize, high: usize) -> usize {
        low + self.next() as usize % (high - low)
    }

    /// `rand_uniform(low, high)`: [low, high] (high itself is possible; callers guard it).
    pub fn rand_uniform(&mut self, low: f64, high: f64) -> f64 {
        (high - low) * f64::from(self.next()) / MAX_INT as f64 + low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn randint_matches_numpy_legacy() {
        // np.random.RandomState(42).randint(2147483647, size=3)
        let mut r = NpRandom::new(42);
        let got: Vec<u64> = (0..3).map(|_| r.randint(0, MAX_INT)).collect();
        assert_eq!(got, NUMPY_RANDINT_42);
        // np.random.RandomState(0).permutation(10)
        assert_eq!(NpRandom::new(0).permutation(10), NUMPY_PERMUTATION_0);
    }

    #[test]
    fn sample_without_replacement_matches_sklearn_in_all_three_regimes() {
        // sklearn.utils.random.sample_without_replacement(n, 256, random_state=RandomState(7))
        let tracking = sample_without_replacement(&mut NpRandom::new(7), 30_000, 256);
        assert_eq!(tracking[..6], [28847, 25796, 16921, 10742, 5699, 20691]);
        let permutation = sample_without_replacement(&mut NpRandom::new(7), 500, 256);
        assert_eq!(permutation[..6], [308, 13, 414, 32, 460, 155]);
        let reservoir = sample_without_replacement(&mut NpRandom::new(7), 258, 256);
        let moved: Vec<(usize, usize)> =
            reservoir.iter().enumerate().filter(|(k, v)| k != *v).map(|(k, v)| (k, *v)).collect();
        assert_eq!(moved, RESERVOIR_MOVED);
    }

    const NUMPY_RANDINT_42: [u64; 3] = [1608637542, 1273642419, 1935803228];
    const NUMPY_PERMUTATION_0: [usize; 10] = [2, 8, 4, 9, 1, 6, 7, 3, 0, 5];
    const RESERVOIR_MOVED: [(usize, usize); 2] = [(175, 256), (196, 257)];
}

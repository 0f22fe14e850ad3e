//! MT19937, the Mersenne Twister, seeded the way numpy's legacy `np.random.seed(int)` seeds it
//! (`init_genrand`), so that the Weibull shape draws the same uniforms as the original
//! `weibull.py` for the same seed. Also the default RNG for arrival tests.

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// The 32-bit Mersenne Twister (Matsumoto & Nishimura, 1998).
#[derive(Debug, Clone)]
pub struct Mt19937 {
    state: [u32; N],
    index: usize,
}

impl Mt19937 {
    /// `init_genrand(seed)`: what numpy's legacy `np.random.seed(seed)` does for a 32-bit seed.
    pub fn new(seed: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(i as u32);
        }
        // index == N forces a full regeneration before the first output, as in the reference.
        Mt19937 { state, index: N }
    }

    fn twist(&mut self) {
        for i in 0..N {
            let y = (self.state[i] & UPPER_MASK) | (self.state[(i + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 0 { 0 } else { MATRIX_A };
            self.state[i] = self.state[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// `genrand_int32`: the next tempered 32-bit output.
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// `genrand_res53`: a uniform double in [0, 1) with 53 random bits from two outputs; this is
    /// exactly what `np.random.uniform(0, 1)` / `np.random.random_sample()` return.
    pub fn next_f64(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_reference_outputs() {
        // First output of the reference mt19937ar for init_genrand(5489) (C++ std::mt19937 default).
        assert_eq!(Mt19937::new(5489).next_u32(), 3_499_211_612);
        // The 10000th output for the default seed, as required by the C++ standard.
        let mut m = Mt19937::new(5489);
        let last = (0..10_000).map(|_| m.next_u32()).last();
        assert_eq!(last, Some(4_123_659_995));
    }

    #[test]
    fn matches_numpy_legacy_seed_42() {
        // np.random.seed(42); np.random.uniform(0, 1, 3)
        let mut m = Mt19937::new(42);
        assert_eq!(m.next_f64(), 0.3745401188473625);
        assert_eq!(m.next_f64(), 0.9507143064099162);
        assert_eq!(m.next_f64(), 0.7319939418114051);
    }
}

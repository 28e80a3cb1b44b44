//! The random draws the simulation needs, from one seeded generator so a seed replays a run.

use rand::Rng;

/// A standard normal draw (Box-Muller; one of the pair is enough here).
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    // 1 - u keeps the logarithm's argument in (0, 1].
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A lognormal draw with the given mean and log-scale spread: handling times are skewed, most
/// answers near the typical time, a few much longer.
pub fn lognormal_with_mean(rng: &mut impl Rng, mean: f64, sigma: f64) -> f64 {
    let mu = mean.ln() - sigma * sigma / 2.0;
    (mu + sigma * standard_normal(rng)).exp()
}

/// An exponential draw with the given rate per unit of time.
pub fn exponential(rng: &mut impl Rng, rate: f64) -> f64 {
    -(1.0 - rng.random::<f64>()).ln() / rate
}

/// The index of one of `weights`, chosen in proportion to its weight.
pub fn weighted_index(rng: &mut impl Rng, weights: impl IntoIterator<Item = f64> + Clone) -> usize {
    let total: f64 = weights.clone().into_iter().sum();
    let mut remaining = rng.random::<f64>() * total;
    let mut last = 0;
    for (i, weight) in weights.into_iter().enumerate() {
        if remaining < weight {
            return i;
        }
        remaining -= weight;
        last = i;
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn lognormal_draws_have_the_asked_mean() {
        let mut rng = StdRng::seed_from_u64(7);
        let n = 20_000;
        let mean = (0..n)
            .map(|_| lognormal_with_mean(&mut rng, 6.0, 0.5))
            .sum::<f64>()
            / f64::from(n);
        assert!((mean - 6.0).abs() < 0.15, "{mean}");
    }

    #[test]
    fn weighted_index_follows_the_weights() {
        let mut rng = StdRng::seed_from_u64(7);
        let weights = [1.0, 0.0, 3.0];
        let mut counts = [0u32; 3];
        for _ in 0..8_000 {
            counts[weighted_index(&mut rng, weights)] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((1_800..2_200).contains(&counts[0]), "{counts:?}");
    }
}

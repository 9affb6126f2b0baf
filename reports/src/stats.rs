//! The statistics of a report: mean, percentiles, coefficient of variation, Jain's index.

/// Arithmetic mean; `None` for no values.
pub fn mean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        None
    } else {
        Some(xs.iter().sum::<f64>() / xs.len() as f64)
    }
}

/// The `p`-th percentile (0–100) with linear interpolation between closest ranks (what numpy's
/// `percentile` and R's `quantile(type = 7)` compute); `None` for no values.
pub fn percentile(xs: &[f64], p: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = (p.clamp(0.0, 100.0) / 100.0) * (v.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (rank - lo as f64))
}

/// Coefficient of variation: population standard deviation over mean. `None` for no values or
/// a zero mean. 0 is perfectly steady; the larger, the more the series swings.
pub fn cov(xs: &[f64]) -> Option<f64> {
    let m = mean(xs)?;
    if m == 0.0 {
        return None;
    }
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64;
    Some(var.sqrt() / m)
}

/// Jain's fairness index (Σx)² / (n·Σx²): 1 when all are equal, 1/n when one takes all.
/// `None` for no values or all zero.
pub fn jain(xs: &[f64]) -> Option<f64> {
    let n = xs.len() as f64;
    let sum: f64 = xs.iter().sum();
    let sq: f64 = xs.iter().map(|x| x * x).sum();
    if xs.is_empty() || sq == 0.0 {
        None
    } else {
        Some(sum * sum / (n * sq))
    }
}

/// Rounds to 6 decimals, so that summaries print short, stable numbers.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let xs = [4.0, 1.0, 3.0, 2.0, 5.0];
        assert_eq!(percentile(&xs, 50.0), Some(3.0));
        assert_eq!(percentile(&xs, 0.0), Some(1.0));
        assert_eq!(percentile(&xs, 100.0), Some(5.0));
        // numpy.percentile([1, 2, 3, 4, 5], 95) == 4.8
        assert!((percentile(&xs, 95.0).unwrap() - 4.8).abs() < 1e-12);
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn jain_and_cov() {
        assert_eq!(jain(&[5.0, 5.0, 5.0, 5.0]), Some(1.0));
        assert_eq!(jain(&[1.0, 0.0, 0.0, 0.0]), Some(0.25));
        assert_eq!(jain(&[]), None);
        assert_eq!(cov(&[3.0, 3.0, 3.0]), Some(0.0));
        // population sd of [1, 3] is 1, mean 2
        assert_eq!(cov(&[1.0, 3.0]), Some(0.5));
        assert_eq!(cov(&[0.0, 0.0]), None);
        assert_eq!(mean(&[1.0, 2.0]), Some(1.5));
    }
}

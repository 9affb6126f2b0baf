//! Loss models for one link direction: Bernoulli, Gilbert–Elliott, and a fixed list of packet
//! indices to drop.

use crate::rng::{chance, SimRng};

/// How a link direction decides that a packet is lost.
#[derive(Clone, Debug, Default)]
pub enum LossModel {
    /// Nothing is lost.
    #[default]
    None,
    /// Each packet is lost independently with probability `p`.
    Bernoulli {
        /// Loss probability.
        p: f64,
    },
    /// A two-state Markov chain: in `Good` a packet is lost with `loss_good`, in `Bad` with
    /// `loss_bad`; after each packet the chain moves Good→Bad with `p_gb`, Bad→Good with `p_bg`.
    GilbertElliott {
        /// Probability of moving from Good to Bad after a packet.
        p_gb: f64,
        /// Probability of moving from Bad to Good after a packet.
        p_bg: f64,
        /// Loss probability in Good.
        loss_good: f64,
        /// Loss probability in Bad.
        loss_bad: f64,
        /// Current state: true while Bad.
        bad: bool,
    },
    /// Exactly the packets with these 0-based indices (counted over packets offered to this
    /// link direction) are lost. Sorted ascending.
    List {
        /// Sorted indices.
        indices: Vec<u64>,
        /// Position of the next index not yet reached.
        cursor: usize,
    },
}

impl LossModel {
    /// A list model from indices in any order.
    pub fn list(mut indices: Vec<u64>) -> Self {
        indices.sort_unstable();
        indices.dedup();
        LossModel::List { indices, cursor: 0 }
    }

    /// Decides the fate of packet number `index` (0-based, per link direction).
    pub fn lose(&mut self, index: u64, rng: &mut SimRng) -> bool {
        match self {
            LossModel::None => false,
            LossModel::Bernoulli { p } => chance(rng, *p),
            LossModel::GilbertElliott {
                p_gb,
                p_bg,
                loss_good,
                loss_bad,
                bad,
            } => {
                let lost = chance(rng, if *bad { *loss_bad } else { *loss_good });
                let flip = chance(rng, if *bad { *p_bg } else { *p_gb });
                if flip {
                    *bad = !*bad;
                }
                lost
            }
            LossModel::List { indices, cursor } => {
                while *cursor < indices.len() && indices[*cursor] < index {
                    *cursor += 1;
                }
                indices.get(*cursor) == Some(&index)
            }
        }
    }

    /// The long-run loss rate the model aims at (for reports).
    pub fn mean_loss(&self) -> f64 {
        match self {
            LossModel::None | LossModel::List { .. } => 0.0,
            LossModel::Bernoulli { p } => *p,
            LossModel::GilbertElliott {
                p_gb,
                p_bg,
                loss_good,
                loss_bad,
                ..
            } => {
                if p_gb + p_bg == 0.0 {
                    *loss_good
                } else {
                    let pi_bad = p_gb / (p_gb + p_bg);
                    pi_bad * loss_bad + (1.0 - pi_bad) * loss_good
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn bernoulli_one_percent_over_100k() {
        let mut m = LossModel::Bernoulli { p: 0.01 };
        let mut rng = stream(7, "test");
        let lost = (0..100_000).filter(|&i| m.lose(i, &mut rng)).count();
        // Binomial(100k, 1%): sd ≈ 31.5; allow ±5 sd.
        assert!((843..=1157).contains(&lost), "lost {lost}");
    }

    #[test]
    fn gilbert_elliott_is_bursty() {
        let mut m = LossModel::GilbertElliott {
            p_gb: 0.002,
            p_bg: 0.2,
            loss_good: 0.0,
            loss_bad: 0.5,
            bad: false,
        };
        let expected = m.mean_loss();
        let mut rng = stream(7, "ge");
        let fates: Vec<bool> = (0..200_000).map(|i| m.lose(i, &mut rng)).collect();
        let lost = fates.iter().filter(|&&l| l).count() as f64;
        let rate = lost / fates.len() as f64;
        assert!(
            (rate - expected).abs() < expected * 0.3,
            "rate {rate} vs {expected}"
        );
        // P(loss | previous lost) is far above the mean rate for a bursty channel.
        let pairs = fates.windows(2).filter(|w| w[0]).count() as f64;
        let both = fates.windows(2).filter(|w| w[0] && w[1]).count() as f64;
        assert!(
            both / pairs > 5.0 * rate,
            "conditional {} vs {rate}",
            both / pairs
        );
    }

    #[test]
    fn list_drops_exact_indices() {
        let mut m = LossModel::list(vec![5, 2, 9]);
        let mut rng = stream(0, "x");
        let lost: Vec<u64> = (0..20).filter(|&i| m.lose(i, &mut rng)).collect();
        assert_eq!(lost, vec![2, 5, 9]);
    }
}

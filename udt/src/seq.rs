//! Wrapping number spaces of UDT4: 31-bit packet sequence numbers, 31-bit ACK
//! sub-sequence numbers and 29-bit message numbers.
//!
//! UDT4 compares these with a threshold of half the space (`seqcmp`): two numbers
//! closer than the threshold compare by difference, farther ones are taken to have
//! wrapped. The order is therefore only meaningful within half the space, which is
//! all the protocol ever needs (windows are far smaller).

use core::cmp::Ordering;
use core::fmt;

macro_rules! wrapping_number {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(u32);

        impl $name {
            /// The largest value; the next one wraps to 0.
            pub const MAX: u32 = $max;
            const THRESHOLD: u32 = $max >> 1;

            /// Masks `raw` into the number space (the wire may carry flag bits above it).
            pub const fn new(raw: u32) -> Self {
                Self(raw & Self::MAX)
            }

            /// The number as an integer in `0..=MAX`.
            pub const fn value(self) -> u32 {
                self.0
            }

            /// `self + n`, wrapping.
            #[allow(clippy::should_implement_trait)]
            pub const fn add(self, n: u32) -> Self {
                Self((self.0.wrapping_add(n)) & Self::MAX)
            }

            /// `self - n`, wrapping.
            pub const fn sub(self, n: u32) -> Self {
                Self((self.0.wrapping_sub(n)) & Self::MAX)
            }

            /// The next number (UDT4 `incseq`).
            pub const fn next(self) -> Self {
                self.add(1)
            }

            /// The previous number (UDT4 `decseq`).
            pub const fn prev(self) -> Self {
                self.sub(1)
            }

            /// Signed distance from `self` to `other` (UDT4 `seqoff(self, other)`):
            /// positive when `other` comes after `self`.
            pub const fn offset_to(self, other: Self) -> i32 {
                let d = other.0.wrapping_sub(self.0) & Self::MAX;
                if d > Self::THRESHOLD {
                    d as i32 - (Self::MAX as i32) - 1
                } else {
                    d as i32
                }
            }

            /// Number of values in the inclusive range `self..=last` (UDT4 `seqlen`).
            pub const fn len_to(self, last: Self) -> u32 {
                (last.0.wrapping_sub(self.0) & Self::MAX) + 1
            }

            /// Wrap-aware comparison (UDT4 `seqcmp`).
            pub fn cmp_wrapping(self, other: Self) -> Ordering {
                0.cmp(&self.offset_to(other))
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp_wrapping(*other))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

wrapping_number!(
    /// A 31-bit data packet sequence number.
    SeqNumber,
    0x7FFF_FFFF
);

wrapping_number!(
    /// A 31-bit ACK sub-sequence number (the "ACK number" of full ACKs and ACK2s).
    AckNumber,
    0x7FFF_FFFF
);

wrapping_number!(
    /// A 29-bit message number.
    MsgNumber,
    0x1FFF_FFFF
);

impl MsgNumber {
    /// The number UDT4 gives the message after `self`: it counts from 1 and restarts
    /// at 1 on reaching `MAX`, so 0 and `MAX` are never used by a UDT4 sender.
    pub const fn next_message(self) -> Self {
        let n = self.0 + 1;
        if n >= Self::MAX {
            Self(1)
        } else {
            Self(n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wraps_at_the_top_of_the_space() {
        let max = SeqNumber::new(SeqNumber::MAX);
        assert_eq!(max.next(), SeqNumber::new(0));
        assert_eq!(SeqNumber::new(0).prev(), max);
        assert!(max < SeqNumber::new(0));
        assert_eq!(max.offset_to(SeqNumber::new(5)), 6);
        assert_eq!(SeqNumber::new(5).offset_to(max), -6);
        assert_eq!(max.len_to(SeqNumber::new(1)), 3);
        assert_eq!(SeqNumber::new(0x8000_0005), SeqNumber::new(5));
    }

    #[test]
    fn message_numbers_skip_zero_and_max() {
        assert_eq!(
            MsgNumber::new(MsgNumber::MAX - 1).next_message(),
            MsgNumber::new(1)
        );
        assert_eq!(MsgNumber::new(7).next_message(), MsgNumber::new(8));
        assert_eq!(MsgNumber::new(MsgNumber::MAX).next(), MsgNumber::new(0));
    }

    /// UDT4's `seqoff` in int32 arithmetic, as the reference defines it.
    fn reference_seqoff(a: i32, b: i32) -> i32 {
        const MAX: i32 = 0x7FFF_FFFF;
        const TH: i32 = 0x3FFF_FFFF;
        if (a - b).abs() < TH {
            b - a
        } else if a < b {
            b - a - MAX - 1
        } else {
            b - a + MAX + 1
        }
    }

    proptest! {
        #[test]
        fn offset_matches_the_reference(a in 0u32..=SeqNumber::MAX, b in 0u32..=SeqNumber::MAX) {
            let (sa, sb) = (SeqNumber::new(a), SeqNumber::new(b));
            let ours = sa.offset_to(sb);
            // The reference's definition differs only exactly at the threshold.
            let d = (a as i64 - b as i64).abs();
            if d != 0x3FFF_FFFF && d != 0x4000_0000 {
                prop_assert_eq!(ours, reference_seqoff(a as i32, b as i32));
            }
        }

        #[test]
        fn add_then_offset_is_identity(a in 0u32..=SeqNumber::MAX, n in 0u32..0x3FFF_FFFF) {
            let s = SeqNumber::new(a);
            prop_assert_eq!(s.offset_to(s.add(n)), n as i32);
            prop_assert_eq!(s.add(n).offset_to(s), -(n as i32));
            prop_assert_eq!(s.add(n).sub(n), s);
            prop_assert_eq!(s.len_to(s.add(n)), n + 1);
            prop_assert!(n == 0 || s < s.add(n));
        }

        #[test]
        fn msg_offsets_cross_the_wrap(a in 0u32..=MsgNumber::MAX, n in 0u32..0x0FFF_FFFF) {
            let m = MsgNumber::new(a);
            prop_assert_eq!(m.offset_to(m.add(n)), n as i32);
            prop_assert!(m.add(n).value() <= MsgNumber::MAX);
        }

        #[test]
        fn ack_numbers_wrap(a in (AckNumber::MAX - 100)..=AckNumber::MAX, n in 0u32..200) {
            let x = AckNumber::new(a);
            prop_assert_eq!(x.offset_to(x.add(n)), n as i32);
        }
    }
}

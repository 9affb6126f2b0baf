//! More tests of the loss list, kept beside `loss.rs` (which others edit) and written
//! for what mutation testing found unchecked: emptiness, empty and reversed ranges,
//! the top of the number space.

use super::*;

fn ranges(l: &LossList) -> Vec<(u64, u64)> {
    l.ranges().collect()
}

#[test]
fn empty_until_something_is_listed_and_again_when_all_is_gone() {
    let mut l = LossList::default();
    assert!(l.is_empty());
    assert_eq!(l.first(), None);
    assert_eq!(l.pop_first(), None);
    assert_eq!(l.insert(7, 8), 2);
    assert!(!l.is_empty());
    assert!(l.remove(7));
    assert!(!l.is_empty());
    assert_eq!(l.pop_first(), Some(8));
    assert!(l.is_empty());
    assert_eq!(l.len(), 0);
    l.insert(3, 9);
    l.remove_range(0, 100);
    assert!(l.is_empty());
    l.insert(3, 9);
    l.remove_below(10);
    assert!(l.is_empty());
}

#[test]
fn a_reversed_range_adds_nothing() {
    let mut l = LossList::default();
    assert_eq!(l.insert(5, 4), 0);
    assert!(l.is_empty());
    assert_eq!(l.len(), 0);
    l.insert(1, 2);
    assert_eq!(l.insert(9, 3), 0);
    assert_eq!(ranges(&l), vec![(1, 2)]);
}

#[test]
fn a_range_inside_a_listed_one_adds_nothing() {
    let mut l = LossList::default();
    l.insert(10, 20);
    assert_eq!(l.insert(12, 15), 0);
    assert_eq!(l.insert(10, 20), 0);
    assert_eq!(l.insert(20, 20), 0);
    assert_eq!(ranges(&l), vec![(10, 20)]);
    assert_eq!(l.len(), 11);
    // One past the end extends it.
    assert_eq!(l.insert(20, 21), 1);
    assert_eq!(ranges(&l), vec![(10, 21)]);
}

#[test]
fn the_top_of_the_number_space() {
    let top = u64::MAX;
    let mut l = LossList::default();
    assert_eq!(l.insert(top - 2, top), 3);
    assert_eq!(l.insert(top, top), 0);
    assert_eq!(l.insert(top - 5, top - 3), 3);
    assert_eq!(ranges(&l), vec![(top - 5, top)]);
    assert!(l.remove(top));
    assert_eq!(ranges(&l), vec![(top - 5, top - 1)]);
    assert_eq!(l.len(), 5);
    l.remove_range(top - 1, top);
    assert_eq!(ranges(&l), vec![(top - 5, top - 2)]);
}

#[test]
fn removing_around_ranges() {
    let mut l = LossList::default();
    l.insert(10, 12);
    l.insert(20, 22);
    assert!(!l.remove(15));
    assert!(!l.remove(9));
    assert!(!l.remove(23));
    l.remove_range(11, 21);
    assert_eq!(ranges(&l), vec![(10, 10), (22, 22)]);
    assert_eq!(l.len(), 2);
    l.remove_below(22);
    assert_eq!(ranges(&l), vec![(22, 22)]);
    l.remove_below(22);
    assert_eq!(ranges(&l), vec![(22, 22)]);
}

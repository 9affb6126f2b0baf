use super::*;

#[test]
fn shards_partition_the_runs() {
    for n in 1..=7 {
        for total in [0usize, 1, 5, 60] {
            let mut seen = vec![0; total];
            for i in 1..=n {
                for (k, s) in seen.iter_mut().enumerate() {
                    if shard_of(k, n) == i {
                        *s += 1;
                    }
                }
            }
            assert!(seen.iter().all(|&c| c == 1), "n={n} total={total}");
        }
    }
    assert_eq!(parse_shard("2/4"), Ok((2, 4)));
    assert!(parse_shard("0/4").is_err());
    assert!(parse_shard("5/4").is_err());
    assert!(parse_shard("1").is_err());
    assert_eq!(
        canonical_command_line("netsim run x.yaml --shard 1/2 -j 4 --jobs=3 --seed 2"),
        "netsim run x.yaml --seed 2"
    );
}

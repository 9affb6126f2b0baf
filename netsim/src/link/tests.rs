use super::*;
use crate::rng::stream;
use std::net::SocketAddr;
use std::rc::Rc;

fn pkt(len: usize) -> Packet {
    let a: SocketAddr = "10.0.0.1:1".parse().unwrap();
    let b: SocketAddr = "10.0.0.2:2".parse().unwrap();
    Packet::new(
        a,
        b,
        Rc::from(vec![0; len - crate::packet::IP_UDP_OVERHEAD]),
    )
}

fn drain(l: &mut LinkDir) -> Vec<u64> {
    let mut out = vec![];
    while let Some(t) = l.next_delivery() {
        l.pop_due(t).unwrap();
        out.push(t);
    }
    out
}

#[test]
fn serialisation_timing_is_exact() {
    // 1500-byte datagrams at 1 Gbit/s take exactly 12 µs each; 10 ms propagation.
    let p = LinkParams {
        rate: Some(1_000_000_000),
        delay: 10_000_000,
        ..Default::default()
    };
    let mut l = LinkDir::new(p, stream(1, "l"));
    for _ in 0..3 {
        l.enqueue(0, pkt(1500)).unwrap();
    }
    assert_eq!(drain(&mut l), vec![10_012_000, 10_024_000, 10_036_000]);
}

#[test]
fn serialisation_remainders_carry() {
    // 3 bytes at 7 bit/s: 24/7 s each; after 7 back-to-back packets exactly 24 s.
    let p = LinkParams {
        rate: Some(7),
        mtu: 100,
        ..Default::default()
    };
    let mut l = LinkDir::new(p, stream(1, "l"));
    let mut small = pkt(28);
    small.payload = Rc::from(vec![]);
    for _ in 0..7 {
        let mut q = small.clone();
        q.payload = Rc::from(vec![0; 0]);
        // 28 header bytes each: 224 bits / 7 bit/s = 32 s per packet.
        l.enqueue(0, q).unwrap();
    }
    assert_eq!(*drain(&mut l).last().unwrap(), 7 * 32_000_000_000);
}

#[test]
fn queue_drop_tail_in_packets_and_bytes() {
    let p = LinkParams {
        rate: Some(1_000_000),
        queue: Some(QueueLimit::Packets(3)),
        ..Default::default()
    };
    let mut l = LinkDir::new(p, stream(1, "l"));
    let fates: Vec<bool> = (0..5).map(|_| l.enqueue(0, pkt(1000)).is_ok()).collect();
    assert_eq!(fates, vec![true, true, true, false, false]);
    assert_eq!(l.counters().dropped_queue, 2);
    assert_eq!(l.occupancy(0), (3, 3000));
    // After the first packet is serialised (8 ms) there is room for one more.
    assert_eq!(l.occupancy(8_000_000), (2, 2000));
    assert!(l.enqueue(8_000_000, pkt(1000)).is_ok());
    assert!(l.enqueue(8_000_000, pkt(1000)).is_err());

    let p = LinkParams {
        rate: Some(1_000_000),
        queue: Some(QueueLimit::Bytes(2500)),
        ..Default::default()
    };
    let mut l = LinkDir::new(p, stream(1, "l"));
    let fates: Vec<bool> = (0..3).map(|_| l.enqueue(0, pkt(1000)).is_ok()).collect();
    assert_eq!(fates, vec![true, true, false]);
}

#[test]
fn mtu_and_down() {
    let mut l = LinkDir::new(
        LinkParams {
            mtu: 1000,
            ..Default::default()
        },
        stream(1, "l"),
    );
    assert_eq!(l.enqueue(0, pkt(1001)).unwrap_err().0, DropReason::Mtu);
    l.enqueue(0, pkt(1000)).unwrap();
    let mut down = l.params().clone();
    down.up = false;
    l.set_params(1, down);
    assert_eq!(l.next_delivery(), None);
    assert_eq!(l.counters().dropped_down, 1);
    assert_eq!(l.enqueue(2, pkt(100)).unwrap_err().0, DropReason::Down);
}

#[test]
fn jitter_preserves_order_reorder_breaks_it() {
    let p = LinkParams {
        delay: 1_000_000,
        jitter: Jitter::Uniform { max: 5_000_000 },
        ..Default::default()
    };
    let mut l = LinkDir::new(p, stream(1, "j"));
    for t in 0..1000 {
        l.enqueue(t * 10_000, pkt(100)).unwrap();
    }
    let times = drain(&mut l);
    assert!(times.windows(2).all(|w| w[0] <= w[1]));

    let p = LinkParams {
        rate: Some(100_000_000),
        reorder: 0.1,
        reorder_delay: 1_000_000,
        ..Default::default()
    };
    let mut l = LinkDir::new(p, stream(1, "r"));
    let mut n = vec![];
    for i in 0..1000u32 {
        let mut q = pkt(100);
        q.payload = Rc::from(i.to_le_bytes().to_vec());
        l.enqueue(i as u64 * 10_000, q).unwrap();
    }
    while let Some(t) = l.next_delivery() {
        let q = l.pop_due(t).unwrap();
        n.push(u32::from_le_bytes(q.payload[..4].try_into().unwrap()));
    }
    assert_eq!(n.len(), 1000);
    let inversions = n.windows(2).filter(|w| w[0] > w[1]).count();
    assert!((50..150).contains(&inversions), "{inversions}");
    // Adjacent held-back packets make one inversion between them, not two.
    assert!(inversions <= l.counters().reordered as usize);
}

#[test]
fn duplication_and_corruption_rates() {
    let p = LinkParams {
        duplicate: 0.05,
        corrupt: 0.02,
        ..Default::default()
    };
    let mut l = LinkDir::new(p, stream(3, "d"));
    for _ in 0..20_000 {
        let _ = l.enqueue(0, pkt(100));
    }
    let c = *l.counters();
    assert!((800..1200).contains(&c.duplicated), "{c:?}");
    assert!((300..500).contains(&c.dropped_corrupt), "{c:?}");
    assert_eq!(
        drain(&mut l).len() as u64,
        20_000 - c.dropped_corrupt + c.duplicated
    );
}

#[test]
fn same_seed_same_fates_and_components_independent() {
    let p = LinkParams {
        loss: LossModel::Bernoulli { p: 0.05 },
        ..Default::default()
    };
    let fates = |seed, name: &str| {
        let mut l = LinkDir::new(p.clone(), stream(seed, name));
        (0..2000)
            .map(|_| l.enqueue(0, pkt(100)).is_ok())
            .collect::<Vec<_>>()
    };
    assert_eq!(fates(9, "link:a>b"), fates(9, "link:a>b"));
    assert_ne!(fates(9, "link:a>b"), fates(9, "link:c>d"));
}

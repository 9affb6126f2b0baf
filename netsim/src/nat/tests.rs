use super::*;
use crate::rng::stream;

const SEC: u64 = 1_000_000_000;

fn nat(preset: Preset) -> Nat {
    let (mapping, filtering, port_preservation) = preset.behaviour();
    Nat::new(
        NatConfig {
            public_ip: "203.0.113.1".parse().unwrap(),
            mapping,
            filtering,
            port_preservation,
            timeout: 30 * SEC,
            hairpin: false,
        },
        stream(1, "nat"),
    )
}

fn a(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// (same mapping for a second remote port, second remote IP; inbound accepted from
/// contacted, same-IP-other-port, other-IP).
fn table(preset: Preset) -> (bool, bool, [bool; 3]) {
    let mut n = nat(preset);
    let inside = a("192.168.1.10:7000");
    let m1 = n.outbound(0, inside, a("198.51.100.1:9000")).unwrap();
    let m2 = n.outbound(0, inside, a("198.51.100.1:9001")).unwrap();
    let m3 = n.outbound(0, inside, a("198.51.100.2:9000")).unwrap();
    let mut n2 = nat(preset);
    let m = n2.outbound(0, inside, a("198.51.100.1:9000")).unwrap();
    let inb = [
        n2.inbound(1, a("198.51.100.1:9000"), m.port()).is_ok(),
        n2.inbound(1, a("198.51.100.1:9999"), m.port()).is_ok(),
        n2.inbound(1, a("198.51.100.7:9000"), m.port()).is_ok(),
    ];
    (m1 == m2, m1 == m3, inb)
}

#[test]
fn presets_mapping_and_filtering_table() {
    assert_eq!(table(Preset::FullCone), (true, true, [true, true, true]));
    assert_eq!(
        table(Preset::RestrictedCone),
        (true, true, [true, true, false])
    );
    assert_eq!(
        table(Preset::PortRestrictedCone),
        (true, true, [true, false, false])
    );
    assert_eq!(
        table(Preset::Symmetric),
        (false, false, [true, false, false])
    );
}

#[test]
fn port_preservation_and_random_ports() {
    let mut n = nat(Preset::PortRestrictedCone);
    let m = n
        .outbound(0, a("192.168.1.10:7000"), a("198.51.100.1:9000"))
        .unwrap();
    assert_eq!(m, a("203.0.113.1:7000"));
    // A second host with the same port cannot keep it.
    let m2 = n
        .outbound(0, a("192.168.1.11:7000"), a("198.51.100.1:9000"))
        .unwrap();
    assert_ne!(m2.port(), 7000);
    let mut s = nat(Preset::Symmetric);
    let m = s
        .outbound(0, a("192.168.1.10:7000"), a("198.51.100.1:9000"))
        .unwrap();
    assert_ne!(m.port(), 7000);
    assert!(m.port() >= 49152);
}

#[test]
fn mappings_expire_without_outbound_traffic() {
    let mut n = nat(Preset::FullCone);
    let m = n
        .outbound(0, a("192.168.1.10:7000"), a("198.51.100.1:9000"))
        .unwrap();
    assert!(n
        .inbound(29 * SEC, a("198.51.100.1:9000"), m.port())
        .is_ok());
    // Inbound traffic does not refresh the mapping.
    assert_eq!(
        n.inbound(31 * SEC, a("198.51.100.1:9000"), m.port()),
        Err(NatDrop::NoMapping)
    );
    assert_eq!(n.counters().mappings_expired, 1);
}

#[test]
fn hairpinning() {
    let mut n = nat(Preset::FullCone);
    let b = n
        .outbound(0, a("192.168.1.20:8000"), a("198.51.100.1:9000"))
        .unwrap();
    assert_eq!(
        n.hairpin(1, a("192.168.1.10:7000"), b),
        Err(NatDrop::Hairpin)
    );
    let mut n = nat(Preset::FullCone);
    n.cfg.hairpin = true;
    let b = n
        .outbound(0, a("192.168.1.20:8000"), a("198.51.100.1:9000"))
        .unwrap();
    let (src, dst) = n.hairpin(1, a("192.168.1.10:7000"), b).unwrap();
    assert_eq!(src, a("203.0.113.1:7000"));
    assert_eq!(dst, a("192.168.1.20:8000"));
}

//! Checks that need the whole scenario: every name resolves, every flow has one workload.

use super::{CaptureSpec, JitterSpec, LinkSpec, Mode, Scenario};
use std::collections::BTreeSet;

/// Splits `host:port` into the name and the port (if any).
pub fn split_host_port(s: &str) -> Result<(&str, Option<u16>), String> {
    match s.rsplit_once(':') {
        None => Ok((s, None)),
        Some((h, p)) => {
            let port = p
                .parse::<u16>()
                .map_err(|_| format!("`{s}`: `{p}` is not a port number (0-65535)"))?;
            Ok((h, Some(port)))
        }
    }
}

fn list(names: &BTreeSet<&str>) -> String {
    names.iter().copied().collect::<Vec<_>>().join(", ")
}

fn check_jitter(j: &Option<JitterSpec>, at: &str) -> Result<(), String> {
    if let Some(JitterSpec::Pareto(p)) = j {
        let shape = p.shape;
        if !(shape > 0.0 && shape.is_finite()) {
            return Err(format!(
                "{at}.jitter.pareto.shape: must be a positive number, got {shape}"
            ));
        }
    }
    Ok(())
}

impl Scenario {
    pub(super) fn validate(&self) -> Result<(), String> {
        let hosts: BTreeSet<&str> = self.hosts.keys().map(|s| s.as_str()).collect();
        let nats: BTreeSet<&str> = self.nats.keys().map(|s| s.as_str()).collect();
        let mut nodes: BTreeSet<&str> = BTreeSet::new();
        for n in hosts
            .iter()
            .chain(nats.iter())
            .copied()
            .chain(self.routers.iter().map(|s| s.as_str()))
        {
            if !nodes.insert(n) {
                return Err(format!(
                    "node name `{n}` is used twice (hosts, routers and nats share one namespace)"
                ));
            }
        }
        for (name, h) in &self.hosts {
            if let Some(t) = &h.timing {
                t.resolve()
                    .map_err(|e| format!("hosts.{name}.timing: {e}"))?;
            }
            if let Some(b) = &h.behind {
                if !nats.contains(b.as_str()) {
                    return Err(format!(
                        "hosts.{name}.behind: unknown NAT `{b}`; known NATs: {}",
                        list(&nats)
                    ));
                }
                if !self
                    .links
                    .iter()
                    .any(|l| l.between.contains(name) && l.between.contains(b))
                {
                    return Err(format!(
                        "hosts.{name}.behind: `{name}` has no link to NAT `{b}`"
                    ));
                }
            }
        }
        let mut link_names = BTreeSet::new();
        for (i, l) in self.links.iter().enumerate() {
            self.check_link(i, l, &nodes)?;
            if !link_names.insert(l.name()) {
                return Err(format!(
                    "links[{i}]: link name `{}` is used twice; give one a `name`",
                    l.name()
                ));
            }
        }
        for (i, e) in self.events.iter().enumerate() {
            if !link_names.contains(&e.link) {
                return Err(format!(
                    "events[{i}].link: unknown link `{}`; known links: {}",
                    e.link,
                    link_names.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            if e.at > self.duration {
                return Err(format!(
                    "events[{i}].at: after the end of the scenario (duration)"
                ));
            }
        }
        for (i, c) in self.capture.iter().enumerate() {
            self.check_capture(i, c, &nodes)?;
        }
        let mut flow_names = BTreeSet::new();
        let mut servers = BTreeSet::new();
        for (i, f) in self.flows.iter().enumerate() {
            let at = format!("flows[{i}] ({})", f.name);
            if !flow_names.insert(f.name.as_str()) {
                return Err(format!("{at}.name: flow name used twice"));
            }
            let host = |field: &str, s: &str, need_port: bool| -> Result<(), String> {
                let (h, p) = split_host_port(s).map_err(|e| format!("{at}.{field}: {e}"))?;
                if need_port && p.is_none() {
                    return Err(format!(
                        "{at}.{field}: `{s}` needs a port, as in `{s}:9000`"
                    ));
                }
                if !hosts.contains(h) && h.parse::<std::net::Ipv4Addr>().is_err() {
                    return Err(format!(
                        "{at}.{field}: unknown host `{h}`; known hosts: {}",
                        list(&hosts)
                    ));
                }
                Ok(())
            };
            match (&f.from, &f.to, &f.rendezvous) {
                (Some(from), Some(to), None) => {
                    host("from", from, false)?;
                    host("to", to, true)?;
                    if !servers.insert(to.clone()) {
                        return Err(format!(
                            "{at}.to: `{to}` already serves another flow; use another port"
                        ));
                    }
                }
                (None, None, Some([a, b])) => {
                    host("rendezvous[0]", a, true)?;
                    host("rendezvous[1]", b, true)?;
                }
                _ => {
                    return Err(format!(
                        "{at}: give either `from` and `to`, or `rendezvous: [a:port, b:port]`"
                    ))
                }
            }
            let workloads = [
                f.transfer.is_some(),
                f.send_for.is_some(),
                f.messages.is_some(),
            ];
            if workloads.iter().filter(|&&w| w).count() > 1 {
                return Err(format!(
                    "{at}: give at most one of `transfer`, `send_for` and `messages`"
                ));
            }
            if let Some(m) = &f.messages {
                if f.mode != Mode::Message {
                    return Err(format!("{at}.messages: needs `mode: message`"));
                }
                if m.size.0 < 16 {
                    return Err(format!(
                        "{at}.messages.size: at least 16 bytes (sequence number and send time)"
                    ));
                }
                if !(m.rate > 0.0 && m.rate.is_finite()) {
                    return Err(format!(
                        "{at}.messages.rate: must be a positive number of messages per second"
                    ));
                }
            } else if f.mode == Mode::Message && (f.transfer.is_some() || f.send_for.is_some()) {
                return Err(format!(
                    "{at}: message mode carries `messages`, not `transfer`/`send_for`"
                ));
            }
            if let Some(stop) = f.stop {
                if stop < f.start {
                    return Err(format!("{at}.stop: before `start`"));
                }
            }
        }
        let grid = super::grid::spec_of(self);
        for (i, e) in self.expect.iter().enumerate() {
            e.check(i, self, grid.as_ref())?;
        }
        Ok(())
    }

    fn check_link(&self, i: usize, l: &LinkSpec, nodes: &BTreeSet<&str>) -> Result<(), String> {
        for (k, n) in l.between.iter().enumerate() {
            if !nodes.contains(n.as_str()) {
                return Err(format!(
                    "links[{i}].between[{k}]: unknown node `{n}`; known nodes: {}",
                    list(nodes)
                ));
            }
        }
        if l.between[0] == l.between[1] {
            return Err(format!(
                "links[{i}].between: a link needs two different nodes"
            ));
        }
        for d in 0..2 {
            let s = l.dir(d);
            check_jitter(&s.jitter, &format!("links[{i}]"))?;
            if let Some(m) = s.mtu {
                if m.0 < 68 {
                    return Err(format!("links[{i}].mtu: at least 68 bytes (IPv4 minimum)"));
                }
            }
        }
        Ok(())
    }

    fn check_capture(
        &self,
        i: usize,
        c: &CaptureSpec,
        nodes: &BTreeSet<&str>,
    ) -> Result<(), String> {
        let at = c.at();
        let (node, peer) = match at.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (at, None),
        };
        if !nodes.contains(node) {
            return Err(format!(
                "capture[{i}]: unknown node `{node}`; known nodes: {}",
                list(nodes)
            ));
        }
        if let Some(p) = peer {
            if !self
                .links
                .iter()
                .any(|l| l.between.iter().any(|x| x == node) && l.between.iter().any(|x| x == p))
            {
                return Err(format!("capture[{i}]: `{node}` has no link to `{p}`"));
            }
        }
        Ok(())
    }
}

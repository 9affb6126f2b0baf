//! UDT4's socket options (`UDTOpt`): the values a socket keeps, their UDT4
//! defaults, and the rules for setting them (which state forbids what, which
//! values are clamped), as UDT 4.11 applies them.

use udt::packet::SocketType;
use udt::time::Duration;
use udt::SocketOptions;

use crate::error::{ApiResult, Code};

/// `UDTOpt` values, in UDT4's order (the whole enum, though two are never
/// implemented).
#[allow(dead_code)]
pub mod opt {
    pub const UDT_MSS: i32 = 0;
    pub const UDT_SNDSYN: i32 = 1;
    pub const UDT_RCVSYN: i32 = 2;
    pub const UDT_CC: i32 = 3;
    pub const UDT_FC: i32 = 4;
    pub const UDT_SNDBUF: i32 = 5;
    pub const UDT_RCVBUF: i32 = 6;
    pub const UDT_LINGER: i32 = 7;
    pub const UDP_SNDBUF: i32 = 8;
    pub const UDP_RCVBUF: i32 = 9;
    pub const UDT_MAXMSG: i32 = 10;
    pub const UDT_MSGTTL: i32 = 11;
    pub const UDT_RENDEZVOUS: i32 = 12;
    pub const UDT_SNDTIMEO: i32 = 13;
    pub const UDT_RCVTIMEO: i32 = 14;
    pub const UDT_REUSEADDR: i32 = 15;
    pub const UDT_MAXBW: i32 = 16;
    pub const UDT_STATE: i32 = 17;
    pub const UDT_EVENT: i32 = 18;
    pub const UDT_SNDDATA: i32 = 19;
    pub const UDT_RCVDATA: i32 = 20;
}

/// IP (20) + UDP (8) header bytes inside the MSS.
const IP_UDP: i32 = 28;
/// The smallest MSS UDT4 takes: IP/UDP headers plus a 48-byte handshake.
const MIN_MSS: i32 = IP_UDP + 48;

/// Where a socket is in its life, as far as option rules care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase {
    /// Bound (UDT4's `m_bOpened`).
    pub opened: bool,
    /// Connecting or connected.
    pub connecting_or_connected: bool,
    /// Broken or closing.
    pub broken: bool,
}

/// Every option a socket keeps, in UDT4's units.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub mss: i32,
    pub snd_syn: bool,
    pub rcv_syn: bool,
    /// Flight flag size, packets.
    pub fc: i32,
    /// Send buffer, packets.
    pub snd_buf: i32,
    /// Receive buffer, packets.
    pub rcv_buf: i32,
    pub linger_on: bool,
    /// Seconds.
    pub linger_secs: i32,
    pub udp_snd_buf: i32,
    pub udp_rcv_buf: i32,
    pub rendezvous: bool,
    /// Milliseconds, -1 = forever.
    pub snd_timeo: i32,
    /// Milliseconds, -1 = forever.
    pub rcv_timeo: i32,
    pub reuse_addr: bool,
    /// Bytes per second, -1 = unlimited.
    pub max_bw: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mss: 1500,
            snd_syn: true,
            rcv_syn: true,
            fc: 25600,
            snd_buf: 8192,
            rcv_buf: 8192,
            linger_on: true,
            linger_secs: 180,
            udp_snd_buf: 65536,
            udp_rcv_buf: 8192 * 1500,
            rendezvous: false,
            snd_timeo: -1,
            rcv_timeo: -1,
            reuse_addr: true,
            max_bw: -1,
        }
    }
}

/// `struct linger` as the C library lays it out.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Linger {
    pub l_onoff: i32,
    pub l_linger: i32,
}

/// An option value read from or written to the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Int(i32),
    Bool(bool),
    Int64(i64),
    Linger(bool, i32),
    /// UDT_CC's `CCC*` (always null here).
    Pointer,
}

impl Value {
    /// Bytes the value takes in the caller's buffer.
    pub fn size(self) -> usize {
        match self {
            Value::Int(_) => 4,
            Value::Bool(_) => std::mem::size_of::<bool>(),
            Value::Int64(_) => 8,
            Value::Linger(..) => std::mem::size_of::<Linger>(),
            Value::Pointer => std::mem::size_of::<*const u8>(),
        }
    }

    /// Writes the value to `out` (at least `size()` bytes, checked by the caller).
    pub fn write(self, out: &mut [u8]) {
        match self {
            Value::Int(v) => out[..4].copy_from_slice(&v.to_ne_bytes()),
            Value::Bool(v) => out[0] = u8::from(v),
            Value::Int64(v) => out[..8].copy_from_slice(&v.to_ne_bytes()),
            Value::Linger(on, secs) => {
                out[..4].copy_from_slice(&i32::from(on).to_ne_bytes());
                out[4..8].copy_from_slice(&secs.to_ne_bytes());
            }
            Value::Pointer => out[..self.size()].fill(0),
        }
    }
}

fn int(v: &[u8]) -> ApiResult<i32> {
    let b: [u8; 4] = v
        .get(..4)
        .ok_or(Code::EINVPARAM)?
        .try_into()
        .expect("4 bytes");
    Ok(i32::from_ne_bytes(b))
}

fn boolean(v: &[u8]) -> ApiResult<bool> {
    // Programs pass `bool` (1 byte) or `int` (4 bytes, low byte first here).
    v.first().map(|b| *b != 0).ok_or(Code::EINVPARAM)
}

impl Options {
    /// The stored (settable) option `name`, as UDT4's getsockopt reports it.
    pub fn get(&self, name: i32) -> ApiResult<Value> {
        use opt::*;
        let payload = self.mss - IP_UDP;
        Ok(match name {
            UDT_MSS => Value::Int(self.mss),
            UDT_SNDSYN => Value::Bool(self.snd_syn),
            UDT_RCVSYN => Value::Bool(self.rcv_syn),
            UDT_FC => Value::Int(self.fc),
            UDT_SNDBUF => Value::Int(self.snd_buf.saturating_mul(payload)),
            UDT_RCVBUF => Value::Int(self.rcv_buf.saturating_mul(payload)),
            UDT_LINGER => Value::Linger(self.linger_on, self.linger_secs),
            UDP_SNDBUF => Value::Int(self.udp_snd_buf),
            UDP_RCVBUF => Value::Int(self.udp_rcv_buf),
            UDT_RENDEZVOUS => Value::Bool(self.rendezvous),
            UDT_SNDTIMEO => Value::Int(self.snd_timeo),
            UDT_RCVTIMEO => Value::Int(self.rcv_timeo),
            UDT_REUSEADDR => Value::Bool(self.reuse_addr),
            UDT_MAXBW => Value::Int64(self.max_bw),
            _ => return Err(Code::EINVOP),
        })
    }

    /// Sets option `name` from the caller's bytes, with UDT4's rules.
    pub fn set(&mut self, name: i32, v: &[u8], phase: Phase) -> ApiResult<()> {
        use opt::*;
        if phase.broken {
            return Err(Code::ECONNLOST);
        }
        let bound = |code| if phase.opened { Err(code) } else { Ok(()) };
        let busy = |code| {
            if phase.connecting_or_connected {
                Err(code)
            } else {
                Ok(())
            }
        };
        match name {
            UDT_MSS => {
                bound(Code::EBOUNDSOCK)?;
                let mss = int(v)?;
                if mss < MIN_MSS {
                    return Err(Code::EINVPARAM);
                }
                // A packet cannot be larger than the UDP buffers (nor than UDP allows).
                self.mss = mss.min(self.udp_snd_buf).min(self.udp_rcv_buf).min(65_535);
            }
            UDT_SNDSYN => self.snd_syn = boolean(v)?,
            UDT_RCVSYN => self.rcv_syn = boolean(v)?,
            // A C++ congestion-control factory cannot cross into Rust.
            UDT_CC => return Err(Code::EINVOP),
            UDT_FC => {
                busy(Code::ECONNSOCK)?;
                let fc = int(v)?;
                if fc < 1 {
                    return Err(Code::EINVPARAM);
                }
                self.fc = fc.max(32);
            }
            UDT_SNDBUF => {
                bound(Code::EBOUNDSOCK)?;
                let bytes = int(v)?;
                if bytes <= 0 {
                    return Err(Code::EINVPARAM);
                }
                self.snd_buf = (bytes / (self.mss - IP_UDP)).max(1);
            }
            UDT_RCVBUF => {
                bound(Code::EBOUNDSOCK)?;
                let bytes = int(v)?;
                if bytes <= 0 {
                    return Err(Code::EINVPARAM);
                }
                let payload = self.mss - IP_UDP;
                // At least 32 packets, at most the flight flag size.
                let pkts = if bytes > payload * 32 {
                    bytes / payload
                } else {
                    32
                };
                self.rcv_buf = pkts.min(self.fc);
            }
            UDT_LINGER => {
                let on = int(v)?;
                let secs = int(v.get(4..).ok_or(Code::EINVPARAM)?)?;
                self.linger_on = on != 0;
                self.linger_secs = secs.max(0);
            }
            UDP_SNDBUF => {
                bound(Code::EBOUNDSOCK)?;
                self.udp_snd_buf = int(v)?.max(self.mss);
            }
            UDP_RCVBUF => {
                bound(Code::EBOUNDSOCK)?;
                self.udp_rcv_buf = int(v)?.max(self.mss);
            }
            UDT_RENDEZVOUS => {
                busy(Code::EBOUNDSOCK)?;
                self.rendezvous = boolean(v)?;
            }
            UDT_SNDTIMEO => self.snd_timeo = int(v)?,
            UDT_RCVTIMEO => self.rcv_timeo = int(v)?,
            UDT_REUSEADDR => {
                bound(Code::EBOUNDSOCK)?;
                self.reuse_addr = boolean(v)?;
            }
            UDT_MAXBW => {
                busy(Code::EBOUNDSOCK)?;
                // int64_t as UDT4 documents it; a 4-byte int is taken too.
                self.max_bw = match v.len() {
                    n if n >= 8 => i64::from_ne_bytes(v[..8].try_into().expect("8 bytes")),
                    _ => i64::from(int(v)?),
                };
            }
            // Read-only (UDT_STATE …), unimplemented in UDT4 (UDT_MAXMSG,
            // UDT_MSGTTL) or unknown.
            _ => return Err(Code::EINVOP),
        }
        Ok(())
    }

    /// The core's options for a connection of `socket_type`.
    pub fn to_core(&self, socket_type: SocketType) -> SocketOptions {
        SocketOptions {
            socket_type,
            mss: self.mss as u32,
            flight_flag_size: self.fc.max(1) as u32,
            send_buffer: self.snd_buf.max(1) as u32,
            recv_buffer: self.rcv_buf.max(1) as u32,
            linger: if self.linger_on {
                Duration::from_secs(self.linger_secs.max(0) as u64)
            } else {
                Duration::ZERO
            },
            max_bandwidth: (self.max_bw > 0).then_some(self.max_bw as u64),
            ..SocketOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRESH: Phase = Phase {
        opened: false,
        connecting_or_connected: false,
        broken: false,
    };

    #[test]
    fn defaults_are_udt4s() {
        let o = Options::default();
        assert_eq!(o.get(opt::UDT_MSS), Ok(Value::Int(1500)));
        assert_eq!(o.get(opt::UDT_SNDBUF), Ok(Value::Int(12_058_624)));
        assert_eq!(o.get(opt::UDT_RCVBUF), Ok(Value::Int(12_058_624)));
        assert_eq!(o.get(opt::UDP_RCVBUF), Ok(Value::Int(12_288_000)));
        assert_eq!(o.get(opt::UDP_SNDBUF), Ok(Value::Int(65_536)));
        assert_eq!(o.get(opt::UDT_FC), Ok(Value::Int(25_600)));
        assert_eq!(o.get(opt::UDT_LINGER), Ok(Value::Linger(true, 180)));
        assert_eq!(o.get(opt::UDT_MAXBW), Ok(Value::Int64(-1)));
        assert_eq!(o.get(opt::UDT_MSGTTL), Err(Code::EINVOP));
    }

    #[test]
    fn state_rules_and_clamps() {
        let mut o = Options::default();
        let bound = Phase {
            opened: true,
            ..FRESH
        };
        assert_eq!(
            o.set(opt::UDT_MSS, &1000i32.to_ne_bytes(), bound),
            Err(Code::EBOUNDSOCK)
        );
        assert_eq!(
            o.set(opt::UDT_MSS, &50i32.to_ne_bytes(), FRESH),
            Err(Code::EINVPARAM)
        );
        o.set(opt::UDT_FC, &5i32.to_ne_bytes(), FRESH).unwrap();
        assert_eq!(o.fc, 32);
        o.set(opt::UDT_RCVBUF, &1i32.to_ne_bytes(), FRESH).unwrap();
        assert_eq!(o.rcv_buf, 32);
        assert_eq!(
            o.set(opt::UDT_SNDBUF, &0i32.to_ne_bytes(), FRESH),
            Err(Code::EINVPARAM)
        );
        assert_eq!(o.set(opt::UDT_STATE, &[0; 4], FRESH), Err(Code::EINVOP));
        assert_eq!(
            o.set(opt::UDT_SNDTIMEO, &[0; 2], FRESH),
            Err(Code::EINVPARAM)
        );
        let broken = Phase {
            broken: true,
            ..FRESH
        };
        assert_eq!(o.set(opt::UDT_SNDSYN, &[0], broken), Err(Code::ECONNLOST));
    }
}

//! Who the client is behind a reverse proxy. A forwarding header is believed only when the
//! peer is a trusted proxy, and then read right to left, skipping trusted hops: the first
//! address not of a trusted proxy is the client. Anything left of it may be forged.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use ipnet::IpNet;

/// The header the trusted proxies append to. Only that one is read: a client could send
/// the other, and a proxy that does not touch it would pass it on as the client wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1` (nginx, most Ingress controllers).
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

impl FromStr for ForwardedHeader {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            other => Err(format!("\"{other}\" is not x-forwarded-for or forwarded")),
        }
    }
}

/// The proxies whose forwarding header is believed; none by default.
#[derive(Debug, Clone)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
    header: ForwardedHeader,
}

impl Default for TrustedProxies {
    fn default() -> Self {
        Self {
            networks: Vec::new(),
            header: ForwardedHeader::XForwardedFor,
        }
    }
}

impl TrustedProxies {
    /// Addresses (`10.0.0.7`, `::1`) or networks (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse<S: AsRef<str>>(entries: &[S], header: ForwardedHeader) -> Result<Self, String> {
        let networks = entries
            .iter()
            .map(|raw| {
                let raw = raw.as_ref().trim();
                raw.parse::<IpNet>()
                    .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("\"{raw}\" is not an IP address or a CIDR network"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { networks, header })
    }

    /// The header the trusted proxies write.
    pub fn header(&self) -> ForwardedHeader {
        self.header
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.networks.iter().any(|n| n.contains(&address))
    }

    /// The client's address, given the peer and the forwarding header's values in the
    /// order they arrived.
    pub fn client(&self, peer: IpAddr, values: &[&str]) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops = values.iter().flat_map(|v| v.split(','));
        let mut nearest = peer;
        for hop in hops.collect::<Vec<_>>().into_iter().rev() {
            let parsed = match self.header {
                ForwardedHeader::XForwardedFor => node(hop),
                ForwardedHeader::Forwarded => forwarded_for(hop).and_then(node),
            };
            // A hop a trusted proxy wrote but nobody can read (`unknown`, an obfuscated
            // name): the proxy itself is the best we know.
            let Some(address) = parsed else {
                return nearest;
            };
            if !self.trusts(address) {
                return address;
            }
            nearest = address;
        }
        nearest
    }
}

/// The `for=` parameter of one `Forwarded` element, unquoted.
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn node(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim();
    raw.parse::<IpAddr>()
        .ok()
        .or_else(|| raw.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            raw.strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|r| r.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn proxies(entries: &[&str], header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies::parse(entries, header).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("203.0.113.9"), &["198.51.100.1"]),
            ip("203.0.113.9")
        );
        let some = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        assert_eq!(
            some.client(ip("203.0.113.9"), &["198.51.100.1"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn reads_right_to_left_skipping_trusted_hops() {
        let p = proxies(&["10.0.0.0/8", "127.0.0.1"], ForwardedHeader::XForwardedFor);
        // The client forged the leftmost entry; nginx appended the real one.
        let chain = ["6.6.6.6, 198.51.100.7", "10.1.2.3"];
        assert_eq!(p.client(ip("127.0.0.1"), &chain), ip("198.51.100.7"));
        assert_eq!(p.client(ip("127.0.0.1"), &[]), ip("127.0.0.1"));
        assert_eq!(p.client(ip("127.0.0.1"), &["10.0.0.5"]), ip("10.0.0.5"));
        assert_eq!(
            p.client(ip("127.0.0.1"), &["198.51.100.7, unknown"]),
            ip("127.0.0.1"),
            "an unreadable hop written by a trusted proxy stops the walk"
        );
        assert_eq!(
            p.client(ip("::ffff:127.0.0.1"), &["198.51.100.7"]),
            ip("198.51.100.7"),
            "an IPv4 peer on a dual-stack socket is still the trusted proxy"
        );
    }

    #[test]
    fn reads_rfc_7239_and_ignores_the_other_header() {
        let p = proxies(&["::1"], ForwardedHeader::Forwarded);
        let value = r#"for=192.0.2.60;proto=http, For="[2001:db8:cafe::17]:4711";by=x"#;
        assert_eq!(p.client(ip("::1"), &[value]), ip("2001:db8:cafe::17"));
        assert_eq!(
            p.client(ip("::1"), &["for=192.0.2.60:80"]),
            ip("192.0.2.60")
        );
    }

    #[test]
    fn refuses_what_is_not_an_address_or_network() {
        let err = TrustedProxies::parse(&["10.0.0.0/33"], ForwardedHeader::XForwardedFor);
        assert!(err.is_err_and(|e| e.contains("10.0.0.0/33")));
        assert!(TrustedProxies::parse(&["nginx"], ForwardedHeader::XForwardedFor).is_err());
        assert!("x-real-ip".parse::<ForwardedHeader>().is_err());
        assert_eq!(
            "Forwarded".parse::<ForwardedHeader>(),
            Ok(ForwardedHeader::Forwarded)
        );
    }
}

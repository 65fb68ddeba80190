//! Choosing TCP ports: the one picker behind every server the harness, the service tests and
//! `cargo xtask` start on a port of their own.

use std::net::TcpListener;

use anyhow::Context as _;

/// A port that was free a moment ago on every interface (so also on 127.0.0.1).
pub fn free_port() -> anyhow::Result<u16> {
    pick_port(None)
}

/// `preferred` if it can be bound on all interfaces (as a service will), else a free port.
pub fn pick_port(preferred: Option<u16>) -> anyhow::Result<u16> {
    pick_ports(&[preferred])?
        .first()
        .copied()
        .context("picking a TCP port")
}

/// One port per entry of `preferred`, all distinct: each preferred port if it can be bound on all
/// interfaces, else a free one. The listeners are held until every port is chosen, so two free
/// ports never collide.
pub fn pick_ports(preferred: &[Option<u16>]) -> anyhow::Result<Vec<u16>> {
    let mut held = Vec::with_capacity(preferred.len());
    let mut ports = Vec::with_capacity(preferred.len());
    for wanted in preferred {
        let listener = wanted
            .filter(|port| !ports.contains(port))
            .and_then(|port| TcpListener::bind(("0.0.0.0", port)).ok());
        let listener = match listener {
            Some(listener) => listener,
            None => TcpListener::bind(("0.0.0.0", 0)).context("finding a free TCP port")?,
        };
        ports.push(
            listener
                .local_addr()
                .context("reading a bound port")?
                .port(),
        );
        held.push(listener);
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_ports_are_distinct_and_avoid_taken_ones() {
        let taken = TcpListener::bind(("0.0.0.0", 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let ports = pick_ports(&[Some(port), None, None]).unwrap();
        assert_eq!(ports.len(), 3);
        assert!(!ports.contains(&port) && !ports.contains(&0), "{ports:?}");
        assert!(ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2]);
        // The same preferred port twice: only the first gets it.
        drop(taken);
        let twice = pick_ports(&[Some(port), Some(port)]).unwrap();
        assert_ne!(twice[0], twice[1]);
    }

    #[test]
    fn pick_port_falls_back_to_a_free_port_when_taken() {
        let taken = TcpListener::bind(("0.0.0.0", 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let picked = pick_port(Some(port)).unwrap();
        assert_ne!(picked, port);
        assert_ne!(picked, 0);
        assert_ne!(free_port().unwrap(), 0);
    }
}

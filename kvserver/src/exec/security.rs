//! Authentication and protected mode (Redis 7.0's `requirepass` for the
//! `default` user, AUTH, HELLO AUTH, and protected mode's DENIED).
//!
//! A client is authenticated when AUTH (or HELLO ... AUTH) succeeded, or
//! when no password was set at its connection or its last RESET
//! ([`crate::server::Client::authenticated`]). While `requirepass` is set
//! ([`crate::config::Runtime::requirepass_set`]), a client that is not
//! authenticated may run only AUTH, HELLO, QUIT and RESET; anything else
//! answers `-NOAUTH Authentication required.` (unknown commands and wrong
//! arities are answered as such first, as Redis does). The hot path pays
//! one bool test: `execute` looks at the atomic only for a client that is
//! not authenticated. Changing the password does not log anyone out;
//! removing it lets everyone in.
//!
//! Until authenticated, a client is also held to Redis's small request
//! limits (10 arguments, 16 KiB per argument: `proto/request.rs`), so a
//! stranger cannot make the server buffer a big request.
//!
//! Protected mode: with `protected-mode yes` (the default) and no password,
//! a connection from a non-loopback address is answered Redis's `-DENIED`
//! text and closed at accept ([`protected_denied`]).

use crate::exec::table::Command;
use crate::proto::reply::Reply;
use crate::server::{Client, Server};
use std::net::IpAddr;
use std::sync::atomic::Ordering;

pub const NOAUTH: &str = "NOAUTH Authentication required.";
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub const HELLO_NOAUTH: &str = "NOAUTH HELLO must be called with the client already \
    authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate \
    the client and select the RESP protocol version at the same time";
/// Redis 7.0's protected-mode refusal, byte for byte.
pub const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is \
    enabled and no password is set for the default user. In this mode connections are only \
    accepted from the loopback interface. If you want to connect from external computers to \
    Redis you may adopt one of the following solutions: 1) Just disable protected mode sending \
    the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to \
    Redis from the same host the server is running, however MAKE SURE Redis is not publicly \
    accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. \
    2) Alternatively you can just disable the protected mode by editing the Redis configuration \
    file, and setting the protected mode option to 'no', and then restarting the server. 3) If \
    you started the server manually just for testing, restart it with the '--protected-mode no' \
    option. 4) Setup a an authentication password for the default user. NOTE: You only need to \
    do one of the above things in order for the server to start accepting connections from the \
    outside.\r\n";

/// Whether the connection from `peer` must be refused with [`DENIED`]:
/// protected mode on, no password, and a peer that is not local (see
/// [`is_local`]; an unknown peer counts as remote).
pub fn protected_denied(protected: bool, password_set: bool, peer: Option<IpAddr>) -> bool {
    protected && !password_set && !is_local(peer)
}

/// Whether `peer` counts as local: exactly 127.0.0.1 or ::1, Redis 7.0's
/// rule (its peer address compared as text, `islocalClient`): the rest
/// of 127.0.0.0/8 is not (redis-server 7.0.15 denies a client from
/// 127.0.0.2, checked). 127.0.0.1 seen through a dual-stack IPv6
/// listener (`::ffff:127.0.0.1`) is 127.0.0.1: Redis's IPv6 listeners are
/// IPv6-only, so it never sees that form. An unknown peer is not local.
pub fn is_local(peer: Option<IpAddr>) -> bool {
    match peer {
        Some(IpAddr::V4(a)) => a == std::net::Ipv4Addr::LOCALHOST,
        Some(IpAddr::V6(a)) => {
            a == std::net::Ipv6Addr::LOCALHOST
                || a.to_ipv4_mapped() == Some(std::net::Ipv4Addr::LOCALHOST)
        }
        None => false,
    }
}

/// Redis 7.0's refusal of DEBUG unless `enable-debug-command` allows it.
pub const DEBUG_NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command \
    option is set to \"local\", you can run it from a local connection, otherwise you need to set \
    this option in the configuration file, and then restart the server.";

/// Whether `enable-debug-command` (`no`, `yes`, `local`) lets a client at
/// `peer` run DEBUG. Off by default, as in Redis 7.0: DEBUG SLEEP stops a
/// whole I/O thread.
pub fn debug_allowed(setting: &str, peer: Option<IpAddr>) -> bool {
    match setting {
        "yes" => true,
        "local" => is_local(peer),
        _ => false,
    }
}

/// Whether a new connection from `peer` is refused by protected mode now.
pub fn refuse_at_accept(server: &Server, peer: Option<IpAddr>) -> bool {
    let cfg = &server.config;
    protected_denied(
        cfg.protected_mode.load(Ordering::Relaxed),
        cfg.requirepass_set.load(Ordering::Relaxed),
        peer,
    )
}

/// Compares without an early exit on the first differing byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks `user`/`pass` against the only user, `default`: any password
/// is right when none is set.
pub fn credentials_ok(server: &Server, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    if !server.config.requirepass_set.load(Ordering::Relaxed) {
        return true;
    }
    same(server.config.get("requirepass").as_bytes(), pass)
}

/// Whether a password is needed and this client has not given it.
pub fn auth_required(server: &Server, c: &Client) -> bool {
    !c.authenticated && server.config.requirepass_set.load(Ordering::Relaxed)
}

/// For a client that is not authenticated (the caller checked
/// `client.authenticated` first): answers NOAUTH and returns true if `cmd`
/// needs authentication. Inside MULTI this dooms the transaction; EXEC
/// answers EXECABORT with the reason, as Redis's rejectCommand does.
pub fn reject(server: &Server, client: &mut Client, cmd: &Command, out: &mut Reply) -> bool {
    if !server.config.requirepass_set.load(Ordering::Relaxed)
        || matches!(cmd.name, "auth" | "hello" | "quit" | "reset")
    {
        return false;
    }
    client.multi_error |= client.multi.is_some();
    server.stats.error(b"NOAUTH");
    if cmd.name == "exec" {
        out.error(&format!(
            "EXECABORT Transaction discarded because of: {NOAUTH}"
        ));
        client.multi = None;
        client.multi_error = false;
        crate::exec::multi::unwatch_all(server, client);
    } else {
        out.error(NOAUTH);
    }
    true
}

/// Resets a client's authentication as a new connection's (RESET).
pub fn reset_auth(server: &Server, c: &mut Client) {
    c.authenticated = !server.config.requirepass_set.load(Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_command_setting() {
        let lo: Option<IpAddr> = Some("127.0.0.1".parse().unwrap());
        let lo6: Option<IpAddr> = Some("::ffff:127.0.0.1".parse().unwrap());
        let remote: Option<IpAddr> = Some("10.1.2.3".parse().unwrap());
        assert!(!debug_allowed("no", lo));
        assert!(debug_allowed("yes", remote));
        assert!(debug_allowed("local", lo) && debug_allowed("local", lo6));
        assert!(!debug_allowed("local", remote));
        assert!(
            !debug_allowed("local", None),
            "an unknown peer is not local"
        );
    }

    #[test]
    fn protected_mode_decision() {
        let lo4: IpAddr = "127.0.0.1".parse().unwrap();
        let lo4b: IpAddr = "127.3.2.1".parse().unwrap();
        let lo6: IpAddr = "::1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let mapped_b: IpAddr = "::ffff:127.0.0.2".parse().unwrap();
        let remote: IpAddr = "192.0.2.2".parse().unwrap();
        let remote6: IpAddr = "2001:db8::1".parse().unwrap();
        for peer in [lo4, lo6, mapped] {
            assert!(!protected_denied(true, false, Some(peer)), "{peer}");
        }
        for peer in [remote, remote6, lo4b, mapped_b] {
            assert!(protected_denied(true, false, Some(peer)), "{peer}");
            // A password, or protected mode off, lets it in.
            assert!(!protected_denied(true, true, Some(peer)));
            assert!(!protected_denied(false, false, Some(peer)));
        }
        assert!(protected_denied(true, false, None));
        assert!(DENIED.starts_with("-DENIED Redis is running in protected mode"));
        assert!(DENIED.ends_with("outside.\r\n"));
    }

    #[test]
    fn constant_time_compare() {
        assert!(same(b"secret", b"secret"));
        assert!(!same(b"secret", b"secreT"));
        assert!(!same(b"secret", b"secre"));
        assert!(same(b"", b""));
    }
}

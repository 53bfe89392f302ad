//! Sockets made with libc: one SO_REUSEPORT listener per server thread, and
//! the per-connection options.
//!
//! Each thread owning its own listener on the shared port lets the kernel
//! spread incoming connections over the threads (SO_REUSEPORT hashing), so
//! no thread hands connections to another and no listener is contended.

use std::io;
use std::mem::size_of;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Pending-connection queue of each listener (the kernel caps it at
/// net.core.somaxconn).
pub const BACKLOG: libc::c_int = 4096;

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn set_int_opt(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: setsockopt reads exactly `size_of::<c_int>()` bytes from a live
    // c_int; the kernel validates the fd and the option.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

fn bind(fd: RawFd, addr: &SocketAddr) -> io::Result<()> {
    let r = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: `sin` is a complete sockaddr_in and the length says so.
            unsafe {
                libc::bind(
                    fd,
                    (&sin as *const libc::sockaddr_in).cast(),
                    size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            }
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: `sin6` is a complete sockaddr_in6 and the length says so.
            unsafe {
                libc::bind(
                    fd,
                    (&sin6 as *const libc::sockaddr_in6).cast(),
                    size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            }
        }
    };
    check(r).map(drop)
}

/// A non-blocking listener on `addr` with SO_REUSEADDR and SO_REUSEPORT, so
/// several (one per thread) can share the port.
pub fn reuseport_listener(addr: &SocketAddr) -> io::Result<OwnedFd> {
    let fd = bound_socket(addr, true)?;
    // SAFETY: plain syscall on the fd we own.
    check(unsafe { libc::listen(fd.as_raw_fd(), BACKLOG) })?;
    Ok(fd)
}

/// A non-blocking TCP socket bound to `addr` with SO_REUSEADDR (and
/// SO_REUSEPORT if `reuseport`), not listening yet.
fn bound_socket(addr: &SocketAddr, reuseport: bool) -> io::Result<OwnedFd> {
    let domain = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: plain syscall with constant arguments.
    let fd = check(unsafe {
        libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    })?;
    // SAFETY: socket() just returned this fd and nothing else owns it; from
    // here on it is closed on every error path by OwnedFd's drop.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let raw = fd.as_raw_fd();
    set_int_opt(raw, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    if reuseport {
        set_int_opt(raw, libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
    }
    bind(raw, addr)?;
    Ok(fd)
}

/// The address a socket is bound to (to learn the port after binding port 0).
pub fn local_addr(fd: OwnedFd) -> io::Result<(OwnedFd, SocketAddr)> {
    // std's TcpListener reads it with getsockname and decodes it for us; the
    // fd goes back out unchanged.
    let l = TcpListener::from(fd);
    let addr = l.local_addr()?;
    Ok((OwnedFd::from(l), addr))
}

/// `n` listeners on the same address. With port 0 the first picks a free
/// port and the others join it. Returns them and the address they share.
///
/// A port another process already listens on is refused (EADDRINUSE), as a
/// plain server's bind would be: SO_REUSEPORT alone would let a second
/// server of the same user join the first one's group and silently take
/// a share of its connections. The check binds a socket to the address
/// without SO_REUSEPORT (which conflicts with any listener there) and
/// closes it without listening: a listening probe would accept the
/// handshakes of clients that connect in that instant and then reset them.
pub fn listeners(addr: SocketAddr, n: usize) -> io::Result<(Vec<OwnedFd>, SocketAddr)> {
    if addr.port() != 0 {
        drop(bound_socket(&addr, false)?);
    }
    let (first, bound) = local_addr(reuseport_listener(&addr)?)?;
    let mut all = vec![first];
    for _ in 1..n {
        all.push(reuseport_listener(&bound)?);
    }
    Ok((all, bound))
}

/// Disables Nagle on a connection. A request/response server answers at
/// once; with Nagle a small reply could wait for the ACK of the previous one
/// (up to the peer's delayed-ACK timer, ~40 ms) when a client pipelines
/// small writes. One setsockopt per connection, never per message.
pub fn set_nodelay(fd: RawFd) -> io::Result<()> {
    set_int_opt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)
}

/// The peer of a connected socket (getpeername), e.g. for a client list.
pub fn peer_addr(fd: RawFd) -> io::Result<SocketAddr> {
    // SAFETY: the caller's fd stays open for this call; ManuallyDrop keeps
    // the temporary TcpStream from closing it.
    let s = std::mem::ManuallyDrop::new(unsafe { std::net::TcpStream::from_raw_fd(fd) });
    s.peer_addr()
}

/// The calling thread's errno after a failed libc call.
pub fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Accept errors after which the same accept may succeed at once: the
/// connection went away before we took it, or a signal interrupted us.
pub fn accept_error_is_transient(errno: i32) -> bool {
    matches!(errno, libc::ECONNABORTED | libc::EINTR | libc::EPROTO)
}

/// Decodes a `sockaddr_storage` that the kernel filled (AF_INET or AF_INET6).
fn decode_sockaddr(ss: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match ss.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says the kernel wrote a sockaddr_in, which
            // fits in (and is no more aligned than) sockaddr_storage.
            let sin =
                unsafe { &*(ss as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = std::net::Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Some(SocketAddr::from((ip, u16::from_be(sin.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 =
                unsafe { &*(ss as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// The peer's and our own address of a connected socket (getpeername and
/// getsockname), for a server's client list. Borrows the fd: std's
/// `TcpStream::peer_addr` would need to own it. None for a socket that is
/// not TCP/IP or already reset.
pub fn peer_and_local(fd: RawFd) -> Option<(SocketAddr, SocketAddr)> {
    let get = |peer: bool| {
        // SAFETY: an all-zero sockaddr_storage is a valid value.
        let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let p = (&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr>();
        // SAFETY: `p` points to `len` writable bytes and the kernel writes at
        // most `len` of them; it validates the fd.
        let r = unsafe {
            if peer {
                libc::getpeername(fd, p, &mut len)
            } else {
                libc::getsockname(fd, p, &mut len)
            }
        };
        (r == 0).then(|| decode_sockaddr(&ss)).flatten()
    };
    Some((get(true)?, get(false)?))
}

/// shutdown(fd, SHUT_RDWR): the peer sees the connection end and an
/// operation pending on the fd (a recv on the ring) completes, with 0, while
/// the fd itself stays open until the owner closes it (a server's CLIENT
/// KILL: only the thread owning the connection calls this, so the fd number
/// cannot have been reused).
pub fn shutdown(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain syscall; the kernel validates the fd.
    check(unsafe { libc::shutdown(fd, libc::SHUT_RDWR) }).map(drop)
}

/// CPU time of this process and of its waited-for children, in seconds:
/// (system, user, children's system, children's user), from getrusage (a
/// server's INFO cpu; kept here with the other libc calls of the server
/// helpers).
pub fn cpu_times() -> (f64, f64, f64, f64) {
    let get = |who: libc::c_int| {
        // SAFETY: an all-zero rusage is a valid value.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `ru` is a live, writable rusage; `who` is a constant.
        if unsafe { libc::getrusage(who, &mut ru) } != 0 {
            return (0.0, 0.0);
        }
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        (secs(ru.ru_stime), secs(ru.ru_utime))
    };
    let (s, u) = get(libc::RUSAGE_SELF);
    let (cs, cu) = get(libc::RUSAGE_CHILDREN);
    (s, u, cs, cu)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_in_use_is_refused() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let (first, addr) = listeners(any, 2).unwrap();
        assert_eq!(first.len(), 2);
        // A second server on the same port must not join the first's
        // SO_REUSEPORT group.
        let err = listeners(addr, 2).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        drop(first);
        // Once the first is gone the port is free again.
        let (again, same) = listeners(addr, 2).unwrap();
        assert_eq!((again.len(), same), (2, addr));
    }
}

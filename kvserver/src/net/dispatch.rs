//! Shard ownership: which I/O thread runs a command.
//!
//! Every shard has an owner, I/O thread `shard % io-threads` (the same
//! split as the active expiry cycle's). A command whose keys all lie in
//! shards of *one* thread runs on that thread: when the connection lives
//! on another one, its requests are forwarded to the owner's mailbox as
//! raw RESP bytes ([`Forward`]), the owner parses and executes them with a
//! stand-in for the client ([`execute_forwarded`]) and posts the replies
//! back ([`Msg::Executed`]). So a key's data is touched by one thread (one
//! core when `server_cpulist` pins the I/O threads), and its shard lock is
//! taken uncontended.
//!
//! Commands that span owners (MSET over shards of two threads, RENAME,
//! SUNIONSTORE...), whole-keyspace commands (KEYS, FLUSHALL, SCAN), EXEC,
//! blocking commands and everything keyless run on the connection's
//! thread, locking their shards in ascending order (`Keyspace::lock`).
//! Owners lock their shards too, so such a command is atomic against the
//! owners' single-shard work with no further protocol: the lock order is
//! the cross-shard protocol, ownership is affinity on top of it.
//! Correctness never depends on where a command runs.
//!
//! Order per connection is Redis's: while a forward is out, the
//! connection executes nothing else (`io_thread.rs` holds its input as it
//! does for a blocked client), so its commands run, and take effect for
//! other clients, in the order they were sent. Consecutive requests for the
//! same owner travel together (up to [`BATCH_BYTES`] / [`BATCH_COMMANDS`]),
//! which keeps a pipeline of same-owner requests to one round trip.
//!
//! A connection in a state the command sees (MULTI queueing, subscribed,
//! MONITOR, CLIENT REPLY OFF/SKIP, not yet authenticated) runs everything
//! at home: those states live with the connection.

use crate::exec::clients::ClientInfo;
use crate::exec::effects::Effects;
use crate::exec::pipeline;
use crate::exec::table::{flags, Locks};
use crate::net::mailbox::Msg;
use crate::proto::reply::Reply;
use crate::proto::request::{self, Parsed};
use crate::server::{Client, Server};
use crate::util::{BatchClock, Rng};
use bytes::{Bytes, BytesMut};
use std::ops::Range;
use std::sync::Arc;

/// A batch of forwarded requests is sent once it holds this many bytes...
pub const BATCH_BYTES: usize = 64 * 1024;
/// ...or this many requests, so a long pipeline's replies start coming back.
pub const BATCH_COMMANDS: u32 = 256;

/// Requests of one connection, for the owner of their keys' shards.
#[derive(Debug)]
pub struct Forward {
    /// The connection's I/O thread, slab key and client id (where the
    /// replies go, as any [`Msg`]).
    pub from: usize,
    pub conn: usize,
    pub id: u64,
    /// The client's CLIENT LIST line: the owner records the commands there.
    pub info: Arc<ClientInfo>,
    pub name: Option<Bytes>,
    pub db: usize,
    /// RESP version of the replies.
    pub resp: u8,
    /// Complete requests, as received (multibulk or inline).
    pub requests: Bytes,
}

/// Where the requests on `client`'s connection (living on I/O thread
/// `here`) run: `Some(owner)` when all of `argv`'s keys are in shards of
/// another thread, `None` to execute at home.
pub fn owner_elsewhere(
    server: &Server,
    client: &Client,
    argv: &[&[u8]],
    here: usize,
) -> Option<usize> {
    let owners = server.owners;
    // While a script is busy its thread (maybe the owner) answers
    // nothing: the pipeline here answers -BUSY (exec/script/busy.rs).
    if owners <= 1 || !plain(client) || server.script_busy.is_busy() {
        return None;
    }
    let cmd = server.commands.find(argv)?;
    if !cmd.arity_ok(argv.len())
        || cmd.locks != Locks::Keys
        || cmd.runs_in_multi()
        || cmd.has(flags::BLOCKING)
    {
        return None;
    }
    let mut owner = None;
    for i in cmd.key_indices(argv) {
        let t = server.ks.shard_of(argv[i]) % owners;
        match owner {
            None => owner = Some(t),
            Some(o) if o != t => return None,
            Some(_) => {}
        }
    }
    owner.filter(|&t| t != here)
}

/// Whether nothing about the client's state ties its commands to its own
/// thread.
fn plain(c: &Client) -> bool {
    c.authenticated
        && c.multi.is_none()
        && c.blocked.is_none()
        && !c.monitor
        && !c.subscribed()
        && !c.reply_off
        && !c.reply_skip
        && !c.reply_skip_next
        // Its reads are remembered for invalidation on its own thread.
        && c.tracking.is_none()
}

/// The stand-in the owner runs `f`'s requests with: the client's id,
/// CLIENT LIST line, name, database and protocol.
fn stand_in(f: &Forward) -> Client {
    let mut c = Client::new(f.id, f.info.clone());
    c.name = f.name.clone();
    c.db = f.db;
    c.thread = f.from;
    c.conn = f.conn;
    c
}

/// Runs forwarded requests on their owner, in order; the reply for their
/// connection (their deliveries are left in `fx` for the owner to post). `out` is a reused buffer (the replies are split off it).
pub fn execute_forwarded(
    server: &Server,
    rng: &mut Rng,
    fx: &mut Effects,
    f: Forward,
    out: &mut BytesMut,
    ranges: &mut Vec<Range<usize>>,
    owned: &mut Vec<Vec<u8>>,
) -> Msg {
    let mut client = stand_in(&f);
    let mut reply = Reply::new(std::mem::take(out));
    reply.resp = f.resp;
    let mut clock = BatchClock::default();
    let mut data = &f.requests[..];
    let mut argv: Vec<&[u8]> = Vec::with_capacity(8);
    let mut ran = 0u64;
    while !data.is_empty() {
        let consumed = match request::parse(data, ranges, owned) {
            Parsed::Multibulk { consumed } => {
                argv.clear();
                argv.extend(ranges.iter().map(|r| &data[r.clone()]));
                pipeline::execute(server, &mut client, &mut reply, rng, &mut clock, fx, &argv);
                consumed
            }
            Parsed::Inline { consumed } => {
                let inline: Vec<&[u8]> = owned.iter().map(|a| a.as_slice()).collect();
                pipeline::execute(
                    server,
                    &mut client,
                    &mut reply,
                    rng,
                    &mut clock,
                    fx,
                    &inline,
                );
                consumed
            }
            Parsed::Empty { consumed } => consumed,
            // The connection's thread parsed these very bytes as complete
            // requests: nothing else can be here.
            Parsed::Incomplete | Parsed::Error(_) => break,
        };
        ran += 1;
        data = &data[consumed..];
    }
    server
        .forwarded_commands
        .fetch_add(ran, std::sync::atomic::Ordering::Relaxed);
    *out = reply.buf;
    Msg::Executed {
        conn: f.conn,
        id: f.id,
        reply: out.split().freeze(),
        aof_need: client.aof_need,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServerConfig;

    fn server(threads: &str, dispatch: &str) -> (Server, Vec<std::os::fd::OwnedFd>) {
        let mut cfg = ServerConfig::default();
        cfg.set("io-threads", &[threads]).unwrap();
        cfg.set("shard-dispatch", &[dispatch]).unwrap();
        let (mail, wake) = crate::net::mailbox::Mailboxes::new(cfg.io_threads).unwrap();
        (
            Server::new(cfg, "test".into(), mail, Default::default()),
            wake,
        )
    }

    fn client() -> Client {
        Client::new(7, Arc::new(ClientInfo::detached(7)))
    }

    /// A key owned by `thread` (of `owners`), the n-th such.
    fn key_of(s: &Server, thread: usize, n: usize) -> String {
        (0..)
            .map(|i| format!("k{i}"))
            .filter(|k| s.ks.shard_of(k.as_bytes()) % s.owners == thread)
            .nth(n)
            .unwrap()
    }

    fn route(s: &Server, c: &Client, here: usize, argv: &[&str]) -> Option<usize> {
        let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        owner_elsewhere(s, c, &argv, here)
    }

    #[test]
    fn single_owner_commands_go_to_their_owner() {
        let (s, _w) = server("4", "owner");
        let c = client();
        let (a, a2, b) = (key_of(&s, 1, 0), key_of(&s, 1, 1), key_of(&s, 2, 0));
        assert_eq!(route(&s, &c, 0, &["GET", &a]), Some(1));
        assert_eq!(route(&s, &c, 1, &["GET", &a]), None, "already home");
        assert_eq!(route(&s, &c, 0, &["get", &b]), Some(2));
        assert_eq!(route(&s, &c, 3, &["MSET", &a, "1", &a2, "2"]), Some(1));
        assert_eq!(route(&s, &c, 0, &["DEL", &a, &a2]), Some(1));
        // Spanning owners, keyless, whole keyspace, blocking, SCAN, WATCH,
        // an unknown command or a wrong arity: at home.
        for argv in [
            vec!["MSET", &a, "1", &b, "2"],
            vec!["RENAME", &a, &b],
            vec!["PING"],
            vec!["KEYS", "*"],
            vec!["DBSIZE"],
            vec!["SCAN", "0"],
            vec!["BLPOP", &a, "0"],
            vec!["XREAD", "STREAMS", &a, "0"],
            vec!["WATCH", &a],
            vec!["NOSUCH", &a],
            vec!["GET", &a, "extra"],
        ] {
            assert_eq!(route(&s, &c, 0, &argv), None, "{argv:?}");
        }
    }

    #[test]
    fn connection_state_keeps_commands_at_home() {
        let (s, _w) = server("4", "owner");
        let a = key_of(&s, 1, 0);
        type Enter = fn(&mut Client);
        let states: [(&str, Enter); 6] = [
            ("multi", |c| c.multi = Some(Vec::new())),
            ("unauthenticated", |c| c.authenticated = false),
            ("monitor", |c| c.monitor = true),
            ("reply off", |c| c.reply_off = true),
            ("reply skip", |c| c.reply_skip_next = true),
            ("subscribed", |c| {
                c.channels.insert(Bytes::from_static(b"ch"));
            }),
        ];
        for (what, enter) in states {
            let mut c = client();
            enter(&mut c);
            assert_eq!(route(&s, &c, 0, &["GET", &a]), None, "{what}");
        }
        // One thread, or `shard-dispatch local`: nothing is forwarded.
        let (one, _w1) = server("1", "owner");
        assert_eq!(route(&one, &client(), 0, &["GET", "x"]), None);
        let (local, _w2) = server("4", "local");
        let a = (0..)
            .map(|i| format!("k{i}"))
            .find(|k| local.ks.shard_of(k.as_bytes()) % 4 == 1)
            .unwrap();
        assert_eq!(route(&local, &client(), 0, &["GET", &a]), None);
    }

    #[test]
    fn the_owner_runs_forwarded_requests_in_order_with_the_clients_state() {
        let (s, _w) = server("2", "owner");
        let mut requests = Vec::new();
        for argv in [
            &[&b"SET"[..], b"a", b"41"][..],
            &[b"INCR", b"a"],
            &[b"GET", b"a"],
            &[b"HSET", b"h", b"f", b"v"],
            &[b"HGETALL", b"h"],
            &[b"GET", b"nokey"],
        ] {
            crate::proto::request::encode(&mut requests, argv);
        }
        requests.extend_from_slice(b"GET a\r\n");
        let info = Arc::new(ClientInfo::detached(9));
        let f = Forward {
            from: 1,
            conn: 5,
            id: 9,
            info: info.clone(),
            name: None,
            db: 3,
            resp: 3,
            requests: Bytes::from(requests),
        };
        let mut out = BytesMut::new();
        let mut rng = Rng::new(1);
        let mut fx = Effects::default();
        let msg = execute_forwarded(
            &s,
            &mut rng,
            &mut fx,
            f,
            &mut out,
            &mut Vec::new(),
            &mut Vec::new(),
        );
        let Msg::Executed {
            conn, id, reply, ..
        } = msg
        else {
            panic!("{msg:?}");
        };
        assert_eq!((conn, id), (5, 9));
        assert_eq!(
            &reply[..],
            &b"+OK\r\n:42\r\n$2\r\n42\r\n:1\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n_\r\n$2\r\n42\r\n"[..]
        );
        assert_eq!(
            s.forwarded_commands
                .load(std::sync::atomic::Ordering::Relaxed),
            7
        );
        // The writes went to the client's database, 3.
        let mut c = client();
        let get = |c: &mut Client, rng: &mut Rng| {
            let mut r = Reply::new(BytesMut::new());
            pipeline::execute(
                &s,
                c,
                &mut r,
                rng,
                &mut BatchClock::default(),
                &mut Effects::default(),
                &[b"GET", b"a"],
            );
            r.buf
        };
        assert_eq!(&get(&mut c, &mut rng)[..], b"$-1\r\n");
        c.db = 3;
        assert_eq!(&get(&mut c, &mut rng)[..], b"$2\r\n42\r\n");
        // The client's CLIENT LIST line shows the last command.
        let get_idx = crate::exec::table::by_own_name(b"get").unwrap().index();
        assert_eq!(
            info.last_cmd.load(std::sync::atomic::Ordering::Relaxed),
            get_idx
        );
    }
}

//! State shared by every I/O thread ([`Server`]) and the state of one
//! client connection ([`Client`]), as Redis's `server` and `client` structs.

use crate::cmd::pubsub::PubSub;
use crate::config::{Runtime, ServerConfig};
use crate::exec::blocking::{Blocked, Blocking};
use crate::exec::clients::{ClientInfo, Registry};
use crate::exec::monitor::Monitors;
use crate::exec::stats::Stats;
use crate::exec::table::CommandTable;
use crate::keyspace::Keyspace;
use crate::net::mailbox::Mailboxes;
use crate::persist::aof::Aof;
use crate::persist::rdb::{Rdb, RdbFile};
use crate::persist::ring_file::BgIo;
use bytes::Bytes;
use indexmap::IndexSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub use crate::util::REDIS_VERSION;

/// Shared by all I/O threads: the keyspace, the configuration, counters.
#[derive(Debug)]
pub struct Server {
    pub ks: Arc<Keyspace>,
    pub cfg: ServerConfig,
    /// `Fastio::describe()`: the backend and why it was chosen (for INFO).
    pub backend: String,
    pub started: Instant,
    pub run_id: String,
    next_client_id: AtomicU64,
    pub connected_clients: AtomicUsize,
    pub total_connections: AtomicU64,
    /// CONFIG GET/SET's view of the configuration.
    pub config: Runtime,
    pub stats: Stats,
    pub clients: Registry,
    pub master_replid: String,
    /// Objects handed to the lazy-free thread (FLUSHALL ASYNC).
    pub lazyfreed_objects: AtomicU64,
    /// The lazy-free thread.
    pub lazyfree: crate::util::LazyFree,
    /// RSS when the server was built (INFO's `used_memory_startup`).
    pub startup_rss: u64,
    /// One inbox per I/O thread: how threads hand each other replies and
    /// messages for the connections they own (`mailbox.rs`).
    pub mail: Mailboxes,
    /// Clients blocked on keys (BLPOP...), per key in arrival order.
    pub blocking: Blocking,
    /// CLIENT PAUSE's state (`exec/pause.rs`).
    pub pause: crate::exec::pause::Pause,
    /// Client-side caching: who tracks which keys (`exec/tracking.rs`).
    pub tracking: crate::exec::tracking::Tracking,
    pub pubsub: PubSub,
    pub monitors: Monitors,
    /// maxmemory's view of the memory in use (`evict.rs`): sampled from
    /// the allocator on the cron, adjusted between samples.
    pub used_memory: AtomicU64,
    pub evicted_keys: AtomicU64,
    /// Shard owners (`dispatch.rs`): the I/O threads, or 1 (no
    /// forwarding) with `shard-dispatch local`.
    pub owners: usize,
    /// Commands executed by their shards' owner for another thread's
    /// connection (INFO stats `forwarded_commands`).
    pub forwarded_commands: AtomicU64,
    /// Connections refused at accept (maxclients).
    pub rejected_connections: AtomicU64,
    /// The append-only file, once `appendonly yes` loaded it.
    pub aof: OnceLock<Arc<Aof>>,
    /// The commands as clients call them (`rename-command` applied).
    pub commands: CommandTable,
    /// The highest `used_memory` INFO or MEMORY STATS has seen.
    pub peak_memory: AtomicU64,
    /// RDB saving's state (LASTSAVE, INFO persistence, `save` points).
    pub rdb: Arc<Rdb>,
    /// The background ring that SAVE, BGSAVE and BGREWRITEAOF write files
    /// through.
    pub bg_io: BgIo,
    /// Scripts by SHA1 (EVAL, SCRIPT LOAD; exec/script/cache.rs).
    pub scripts: crate::exec::script::cache::ScriptCache,
    /// Redis Functions' libraries (exec/script/functions.rs).
    pub functions: crate::exec::script::functions::Registry,
    /// The running script, busy or killed (exec/script/busy.rs); shared
    /// with every thread's Lua count hook.
    pub script_busy: Arc<crate::exec::script::busy::Busy>,
}

impl Server {
    pub fn new(cfg: ServerConfig, backend: String, mail: Mailboxes, bg_io: BgIo) -> Server {
        // Redis sizes nothing by threads; we want at least 4 shards per I/O
        // thread so that two threads rarely want the same lock.
        let shards = (cfg.io_threads * 4).max(16).next_power_of_two();
        let owners = match cfg.values.get("shard-dispatch").map(String::as_str) {
            Some("local") => 1,
            _ => cfg.io_threads,
        };
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ std::process::id() as u64;
        let mut rng = crate::util::Rng::new(seed);
        let mut hex40 = || -> String {
            (0..40)
                .map(|_| char::from(b"0123456789abcdef"[rng.below(16)]))
                .collect()
        };
        let run_id = hex40();
        let master_replid = hex40();
        let config = Runtime::new(&cfg);
        let commands = CommandTable::new(&cfg.renames);
        let start_unix = crate::util::now_ms() / 1000;
        Server {
            stats: Stats::default(),
            clients: Registry::default(),
            master_replid,
            lazyfreed_objects: AtomicU64::new(0),
            lazyfree: Default::default(),
            startup_rss: crate::exec::evict::used_memory_now(),
            ks: Arc::new(Keyspace::new(
                shards,
                cfg.databases,
                config.keyspace.clone(),
            )),
            config,
            cfg,
            backend,
            started: Instant::now(),
            run_id,
            next_client_id: AtomicU64::new(1),
            connected_clients: AtomicUsize::new(0),
            total_connections: AtomicU64::new(0),
            mail,
            blocking: Blocking::default(),
            pause: Default::default(),
            tracking: crate::exec::tracking::Tracking::new(shards),
            pubsub: PubSub::default(),
            monitors: Monitors::default(),
            used_memory: AtomicU64::new(0),
            evicted_keys: AtomicU64::new(0),
            owners,
            forwarded_commands: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            aof: OnceLock::new(),
            commands,
            peak_memory: AtomicU64::new(0),
            rdb: Arc::new(Rdb::new(bg_io.clone(), start_unix)),
            bg_io,
            scripts: Default::default(),
            script_busy: Default::default(),
            functions: Default::default(),
        }
    }

    /// Changes to the dataset since the start (Redis's `server.dirty`).
    pub fn dirty(&self) -> u64 {
        self.stats.dirty_total()
    }

    /// The RDB file: `dir` / `dbfilename`.
    pub fn rdb_file(&self) -> RdbFile {
        RdbFile::new(&self.config.get("dir"), self.config.get("dbfilename"))
    }

    /// `save` as (seconds, changes) pairs.
    pub fn save_points(&self) -> Vec<(u64, u64)> {
        let v = self.config.get("save");
        let nums: Vec<u64> = v
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        nums.chunks_exact(2).map(|c| (c[0], c[1])).collect()
    }

    /// The live AOF (`appendonly yes`).
    #[inline]
    pub fn aof(&self) -> Option<&Arc<Aof>> {
        self.aof.get()
    }

    /// CONFIG SET changed settings: apply those that live outside the
    /// runtime configuration.
    pub fn config_changed(&self) {
        self.stats
            .slowlog_trim(self.config.slowlog_max_len.load(Ordering::Relaxed) as usize);
        if let Some(aof) = self.aof() {
            aof.set_fsync_mode(&self.config.get("appendfsync"));
        }
    }

    /// A client for the connection on `fd`, slab key `conn` of I/O thread
    /// `thread` (registered for CLIENT LIST/KILL).
    pub fn new_client(&self, fd: i32, thread: usize, conn: usize) -> Client {
        self.connected_clients.fetch_add(1, Ordering::Relaxed);
        self.total_connections.fetch_add(1, Ordering::Relaxed);
        let id = self.next_client_id.fetch_add(1, Ordering::Relaxed);
        let info = Arc::new(ClientInfo::new(id, fd, crate::util::now_ms(), thread, conn));
        self.clients.add(info.clone());
        let mut client = Client::new(id, info);
        client.authenticated = !self.config.requirepass_set.load(Ordering::Relaxed);
        client.thread = thread;
        client.conn = conn;
        client
    }

    /// Periodic work of I/O thread 0's 100 ms tick (Redis's serverCron):
    /// the ops/sec sample.
    pub fn cron(&self) {
        self.stats.sample(crate::util::now_ms());
        crate::exec::evict::sample_memory(self);
        self.rdb.cron(
            &self.ks,
            &self.save_points(),
            &self.rdb_file(),
            self.dirty(),
        );
    }

    pub fn client_gone(&self, c: &Client) {
        self.clients.remove(c.id);
        self.connected_clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Per-connection state that commands see and change.
#[derive(Debug)]
pub struct Client {
    pub id: u64,
    /// What CLIENT LIST shows of this client (shared with the registry).
    pub info: Arc<ClientInfo>,
    pub name: Option<Bytes>,
    /// The selected database (SELECT).
    pub db: usize,
    /// QUIT or a protocol error: close once the replies so far are sent.
    pub close_after_reply: bool,
    /// Inside MULTI: the queued commands (already looked up and
    /// arity-checked) with their arguments.
    pub multi: Option<Vec<(&'static crate::exec::table::Command, Vec<Bytes>)>>,
    /// A command was refused while queueing (unknown, wrong arity): EXEC
    /// answers EXECABORT.
    pub multi_error: bool,
    /// WATCHed keys: (database, key, version when watched).
    pub watched: Vec<(usize, Bytes, u64)>,
    /// Where the connection lives: its I/O thread and slab key there (the
    /// address of its mailbox messages, with `id`).
    pub thread: usize,
    pub conn: usize,
    /// Blocked in BLPOP & co. (its later requests wait).
    pub blocked: Option<Blocked>,
    /// A temporary client re-running a blocked command for its waiter
    /// (`blocking::serve`): finding no data must not block again.
    pub serving: bool,
    /// Inside EXEC: blocking commands answer at once, as timed out.
    pub deny_blocking: bool,
    /// Running a script's commands (Redis's CLIENT_SCRIPT): XREAD refuses
    /// BLOCK.
    pub in_script: bool,
    /// The AOF loader (later, a master): limits that protect the server
    /// from clients (proto-max-bulk-len on APPEND ...) do not apply to
    /// what it replays (Redis's `mustObeyClient`).
    pub obey: bool,
    /// Pub/sub subscriptions, in subscription order.
    pub channels: IndexSet<Bytes>,
    pub patterns: IndexSet<Bytes>,
    /// Shard channels (SSUBSCRIBE), a namespace of their own.
    pub shard_channels: IndexSet<Bytes>,
    /// CLIENT TRACKING's settings, when on.
    pub tracking: Option<Box<crate::exec::tracking::ClientTracking>>,
    /// In MONITOR mode.
    pub monitor: bool,
    /// CLIENT REPLY OFF / SKIP (this command) / SKIP (set for the next).
    pub reply_off: bool,
    pub reply_skip: bool,
    pub reply_skip_next: bool,
    /// `appendfsync always`: this client's unsent replies may go out once
    /// the AOF is fsynced up to here (`persist/aof/writer.rs`; the I/O
    /// thread holds the replies until then).
    pub aof_need: u64,
    /// AUTH passed, or no password was required when it connected (or at
    /// its last RESET). Commands other than AUTH HELLO QUIT RESET need it
    /// while `requirepass` is set (`security.rs`).
    pub authenticated: bool,
}

impl Client {
    /// A client not registered anywhere (`new_client` registers;
    /// `blocking::serve` makes temporary ones).
    pub fn new(id: u64, info: Arc<ClientInfo>) -> Client {
        Client {
            id,
            info,
            name: None,
            db: 0,
            close_after_reply: false,
            multi: None,
            multi_error: false,
            watched: Vec::new(),
            thread: 0,
            conn: 0,
            blocked: None,
            serving: false,
            deny_blocking: false,
            in_script: false,
            obey: false,
            channels: IndexSet::new(),
            patterns: IndexSet::new(),
            shard_channels: IndexSet::new(),
            tracking: None,
            monitor: false,
            reply_off: false,
            reply_skip: false,
            reply_skip_next: false,
            aof_need: 0,
            authenticated: true,
        }
    }

    /// Subscribed to a channel or a pattern (RESP2's restricted mode).
    pub fn subscribed(&self) -> bool {
        !self.channels.is_empty() || !self.patterns.is_empty() || !self.shard_channels.is_empty()
    }
}

impl Client {
    pub fn set_name(&mut self, name: Option<Bytes>) {
        self.info.set_name(name.clone());
        self.name = name;
    }
}

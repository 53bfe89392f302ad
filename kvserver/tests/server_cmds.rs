//! Connection and server commands on the threads and uring backends: INFO
//! (sections, field format, commandstats), CONFIG GET/SET (globs,
//! atomicity, Redis's errors), COMMAND (COUNT, DOCS shape, GETKEYS), CLIENT
//! LIST/INFO/KILL, SLOWLOG, MEMORY USAGE, SHUTDOWN, and redis-cli against
//! it. Expected texts were checked against redis-server 7.0.15.

mod common;

use common::{on_path, Raw, Server};
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The text of a RESP2 bulk reply.
fn bulk_text(reply: &str) -> String {
    assert!(reply.starts_with('$'), "not a bulk: {reply:?}");
    let nl = reply.find("\r\n").unwrap();
    reply[nl + 2..reply.len() - 2].to_string()
}

/// INFO parsed as clients do: `# Section` headers, `key:value` lines.
fn info(c: &mut Raw, args: &[&str]) -> Vec<(String, HashMap<String, String>)> {
    let mut a = vec!["INFO"];
    a.extend_from_slice(args);
    let text = bulk_text(&c.q(&a));
    let mut sections: Vec<(String, HashMap<String, String>)> = Vec::new();
    for line in text.split("\r\n") {
        if let Some(name) = line.strip_prefix("# ") {
            sections.push((name.to_string(), HashMap::new()));
        } else if !line.is_empty() {
            let (k, v) = line.split_once(':').expect("key:value line");
            sections
                .last_mut()
                .expect("a section header first")
                .1
                .insert(k.into(), v.into());
        }
    }
    sections
}

fn names(s: &[(String, HashMap<String, String>)]) -> Vec<&str> {
    s.iter().map(|(n, _)| n.as_str()).collect()
}

fn info_cmds(s: &Server) {
    let mut c = s.raw();
    let d = info(&mut c, &[]);
    let default = [
        "Server",
        "Clients",
        "Memory",
        "Persistence",
        "Stats",
        "Replication",
        "CPU",
        "Modules",
        "Errorstats",
        "Cluster",
        "Keyspace",
    ];
    assert_eq!(names(&d), default);
    assert_eq!(names(&info(&mut c, &["default"])), default);
    let all = info(&mut c, &["all"]);
    assert!(names(&all).contains(&"Commandstats"));
    assert_eq!(names(&info(&mut c, &["everything"])), names(&all));
    assert_eq!(
        names(&info(&mut c, &["server", "CLIENTS"])),
        ["Server", "Clients"]
    );
    assert_eq!(c.q(&["INFO", "nosuchsection"]), "$0\r\n\r\n");
    let f: HashMap<&str, &HashMap<String, String>> =
        all.iter().map(|(n, m)| (n.as_str(), m)).collect();
    assert_eq!(f["Server"]["redis_version"], "7.0.15");
    assert_eq!(f["Server"]["tcp_port"], s.port.to_string());
    assert!(f["Clients"]["connected_clients"].parse::<u64>().unwrap() >= 1);
    assert_eq!(f["Clients"]["blocked_clients"], "0");
    assert!(f["Memory"]["used_memory"].parse::<u64>().unwrap() > 0);
    assert!(f["Memory"]["used_memory_human"].ends_with(['K', 'M', 'G']));
    assert_eq!(f["Memory"]["maxmemory_policy"], "noeviction");
    assert_eq!(f["Persistence"]["loading"], "0");
    assert_eq!(f["Persistence"]["aof_enabled"], "0");
    assert!(
        f["Persistence"]["rdb_last_save_time"]
            .parse::<u64>()
            .unwrap()
            > 1_600_000_000
    );
    assert_eq!(f["Replication"]["role"], "master");
    assert_eq!(f["Replication"]["connected_slaves"], "0");
    assert_eq!(f["Replication"]["master_replid"].len(), 40);
    let sys: f64 = f["CPU"]["used_cpu_sys"].parse().unwrap();
    let user: f64 = f["CPU"]["used_cpu_user"].parse().unwrap();
    assert!(sys + user > 0.0);
    assert!(f["Stats"].contains_key("instantaneous_ops_per_sec"));
    assert_eq!(f["Cluster"]["cluster_enabled"], "0");

    // commandstats after known calls.
    assert_eq!(c.q(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    for _ in 0..3 {
        c.q(&["SET", "k", "v"]);
    }
    c.q(&["GET", "k"]);
    c.q(&["LPUSH", "k", "x"]); // WRONGTYPE: a failed call
    c.q(&["GET"]); // wrong arity: a rejected call
    let cs = info(&mut c, &["commandstats"]);
    let cs = &cs[0].1;
    let stat = |name: &str| -> HashMap<String, String> {
        cs[&format!("cmdstat_{name}")]
            .split(',')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect()
    };
    let set = stat("set");
    assert_eq!(set["calls"], "3");
    assert!(set["usec_per_call"].contains('.'));
    assert_eq!(set["failed_calls"], "0");
    let get = stat("get");
    assert_eq!(
        (get["calls"].as_str(), get["rejected_calls"].as_str()),
        ("1", "1")
    );
    assert_eq!(stat("lpush")["failed_calls"], "1");
    let es = info(&mut c, &["errorstats"]);
    assert_eq!(es[0].1["errorstat_WRONGTYPE"], "count=1");
    assert_eq!(es[0].1["errorstat_ERR"], "count=1");
    let st = info(&mut c, &["stats"]);
    assert_eq!(st[0].1["total_error_replies"], "2");
}

fn config_cmds(s: &Server) {
    let mut c = s.raw();
    assert_eq!(
        c.q(&["CONFIG", "GET", "maxmemory"]),
        "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    );
    let r = c.q(&["CONFIG", "GET", "maxmemory*", "port"]);
    for p in ["maxmemory-policy", "maxmemory-samples", "port", "maxmemory"] {
        assert!(r.contains(&format!("\r\n{p}\r\n")), "{p} in {r}");
    }
    assert!(c.q(&["CONFIG", "GET", "*"]).len() > 1000);
    for p in [
        "bind",
        "databases",
        "save",
        "appendonly",
        "appendfsync",
        "maxclients",
        "timeout",
        "tcp-keepalive",
        "requirepass",
        "dir",
        "dbfilename",
        "io-threads",
        "hz",
        "slowlog-log-slower-than",
        "slowlog-max-len",
        "loglevel",
        "protected-mode",
        "proto-max-bulk-len",
        "client-query-buffer-limit",
        "lua-time-limit",
        "notify-keyspace-events",
    ] {
        assert!(c.q(&["CONFIG", "GET", p]).starts_with("*2\r\n"), "{p}");
    }
    assert_eq!(c.q(&["CONFIG", "GET", "nosuch"]), "*0\r\n");
    // Several pairs, all or nothing.
    assert_eq!(
        c.q(&["CONFIG", "SET", "maxmemory", "10mb", "hz", "20"]),
        "+OK\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "GET", "maxmemory"]),
        "*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "SET", "maxmemory", "20mb", "hz", "xx"]),
        "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "SET", "maxmemory", "20mb", "port", "1"]),
        "-ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "GET", "maxmemory"]),
        "*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n",
        "a failed CONFIG SET changes nothing"
    );
    assert_eq!(
        c.q(&["CONFIG", "SET", "maxmemory", "1", "maxmemory", "2"]),
        "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "SET", "foo", "bar"]),
        "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "SET", "appendonly", "maybe"]),
        "-ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "SET", "maxmemory-policy", "bad"]),
        "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "SET", "dir", "/tmp"]),
        "-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "SET", "maxmemory"]),
        "-ERR wrong number of arguments for 'config|set' command\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]),
        "+OK\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "GET", "notify-keyspace-events"]),
        "*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "REWRITE"]),
        "-ERR The server is running without a config file\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "FOO"]),
        "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n"
    );
    // RESP3: a map.
    c.resp3 = true;
    c.q(&["HELLO", "3"]);
    assert_eq!(
        c.q(&["CONFIG", "GET", "hz"]),
        "%1\r\n$2\r\nhz\r\n$2\r\n20\r\n"
    );
    c.q(&["CONFIG", "SET", "hz", "10", "maxmemory", "0"]);
}

fn command_cmds(s: &Server) {
    let mut c = s.raw();
    let count: usize = c.q(&["COMMAND", "COUNT"])[1..].trim().parse().unwrap();
    // COMMAND LIST names the subcommands too (COUNT counts commands only),
    // as Redis 7.0's.
    let list = c.q(&["COMMAND", "LIST"]);
    let listed: usize = list[1..list.find('\r').unwrap()].parse().unwrap();
    assert!(listed > count, "{listed} <= {count}");
    assert!(list.contains("\r\n$10\r\nconfig|get\r\n"));
    assert!(c.q(&["COMMAND"]).starts_with(&format!("*{count}\r\n")));
    assert_eq!(
        c.q(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "zrange*"]),
        "*3\r\n$6\r\nzrange\r\n$11\r\nzrangestore\r\n$13\r\nzrangebyscore\r\n$11\r\nzrangebylex\r\n"
            .replace("*3", "*4")
    );
    assert_eq!(
        c.q(&["COMMAND", "LIST", "FILTERBY", "MODULE", "x"]),
        "*0\r\n"
    );
    assert!(c
        .q(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "hash"])
        .contains("$4\r\nhset\r\n"));
    // Redis's exact DOCS entry for GET.
    assert_eq!(
        c.q(&["COMMAND", "DOCS", "get"]),
        "*2\r\n$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n\
         $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n\
         $4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n\
         $3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n"
    );
    let set = c.q(&["COMMAND", "DOCS", "set"]);
    for f in [
        "summary",
        "since",
        "group",
        "complexity",
        "history",
        "arguments",
        "expiration",
    ] {
        assert!(set.contains(&format!("\r\n{f}\r\n")), "{f}");
    }
    let all = c.q(&["COMMAND", "DOCS"]);
    assert!(all.starts_with(&format!("*{}\r\n", 2 * count)));
    // COMMAND INFO: Redis's ten fields.
    let gi = c.q(&["COMMAND", "INFO", "get", "nosuch"]);
    assert!(gi.starts_with("*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n"), "{gi}");
    assert!(gi.ends_with("*-1\r\n"));
    assert_eq!(
        c.q(&["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        c.q(&[
            "COMMAND",
            "GETKEYS",
            "ZUNIONSTORE",
            "d",
            "2",
            "a",
            "b",
            "WEIGHTS",
            "1",
            "2"
        ]),
        "*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        c.q(&["COMMAND", "GETKEYS", "PING", "x"]),
        "-ERR The command has no key arguments\r\n"
    );
    assert_eq!(
        c.q(&["COMMAND", "GETKEYS", "FOO", "x"]),
        "-ERR Invalid command specified\r\n"
    );
    assert_eq!(
        c.q(&["COMMAND", "GETKEYS", "GET"]),
        "-ERR wrong number of arguments for 'command|getkeys' command\r\n"
    );
}

/// Subcommands are commands of their own, and the flags Redis enforces
/// are enforced: replies recorded from redis-server 7.0.15.
fn subcommands_and_flags(s: &Server) {
    let mut c = s.raw();
    for (cmd, want) in [
        (
            &["COMMAND", "INFO", "config|get"][..],
            "*1\r\n*10\r\n$10\r\nconfig|get\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n\
             +stale\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*0\r\n",
        ),
        (
            &["COMMAND", "GETKEYSANDFLAGS", "LMOVE", "a", "b", "LEFT", "RIGHT"],
            "*2\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n*2\r\n$1\r\nb\r\n*2\r\n\
             +RW\r\n+insert\r\n",
        ),
        (
            &["COMMAND", "GETKEYS", "MEMORY", "USAGE", "k"],
            "*1\r\n$1\r\nk\r\n",
        ),
        (
            &["COMMAND", "GETKEYS", "CONFIG", "GET", "x"],
            "-ERR The command has no key arguments\r\n",
        ),
        (
            &["COMMAND", "GETKEYS", "CLIENT", "FOO"],
            "-ERR Invalid command specified\r\n",
        ),
        (
            &["COMMAND", "DOCS", "config|resetstat"],
            "*2\r\n$16\r\nconfig|resetstat\r\n*8\r\n$7\r\nsummary\r\n$32\r\n\
             Reset the stats returned by INFO\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n\
             $6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
        ),
        (
            &["CONFIG"],
            "-ERR wrong number of arguments for 'config' command\r\n",
        ),
        (
            &["CONFIG", "FOO"],
            "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n",
        ),
        (
            &["CONFIG", "GET"],
            "-ERR wrong number of arguments for 'config|get' command\r\n",
        ),
        (
            &["OBJECT", "HELP", "x"],
            "-ERR wrong number of arguments for 'object|help' command\r\n",
        ),
        // `no-multi` commands are refused inside MULTI, and EXEC aborts
        // (SHUTDOWN used to be queued, and EXEC then stopped the server).
        (&["MULTI"], "+OK\r\n"),
        (
            &["SAVE"],
            "-ERR Command not allowed inside a transaction\r\n",
        ),
        (
            &["SHUTDOWN"],
            "-ERR Command not allowed inside a transaction\r\n",
        ),
        (
            &["EXEC"],
            "-EXECABORT Transaction discarded because of previous errors.\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["SET", "a", "1"], "+QUEUED\r\n"),
        (&["FLUSHALL"], "+QUEUED\r\n"),
        (&["EXEC"], "*2\r\n+OK\r\n+OK\r\n"),
    ] {
        assert_eq!(c.q(cmd), want, "{cmd:?}");
    }
    // The subcommands in COMMAND LIST (Redis lists them in its hash
    // table's order: compared as a set).
    let list = c.q(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*"]);
    let mut names: Vec<&str> = list
        .split("\r\n")
        .filter(|l| l.starts_with("config|"))
        .collect();
    names.sort_unstable();
    assert!(list.starts_with("*5\r\n"), "{list}");
    assert_eq!(
        names,
        [
            "config|get",
            "config|help",
            "config|resetstat",
            "config|rewrite",
            "config|set"
        ]
    );
    // Stats per subcommand, as Redis 7.0's.
    let cs = c.q(&["INFO", "commandstats"]);
    assert!(cs.contains("cmdstat_config|get:calls="), "{cs}");
    assert!(cs.contains("cmdstat_command|getkeys:calls="), "{cs}");
}

fn client_cmds(s: &Server) {
    let mut a = s.raw();
    let mut b = s.raw();
    assert_eq!(a.q(&["CLIENT", "SETNAME", "alpha"]), "+OK\r\n");
    a.q(&["SELECT", "3"]);
    let a_id = a.q(&["CLIENT", "ID"])[1..].trim().to_string();
    let b_id = b.q(&["CLIENT", "ID"])[1..].trim().to_string();
    let info = bulk_text(&a.q(&["CLIENT", "INFO"]));
    let fields: Vec<&str> = info
        .trim_end()
        .split(' ')
        .map(|f| f.split('=').next().unwrap())
        .collect();
    for f in [
        "id",
        "addr",
        "laddr",
        "fd",
        "name",
        "age",
        "idle",
        "flags",
        "db",
        "sub",
        "psub",
        "ssub",
        "multi",
        "qbuf",
        "qbuf-free",
        "argv-mem",
        "multi-mem",
        "obl",
        "oll",
        "omem",
        "tot-mem",
        "events",
        "cmd",
        "user",
        "redir",
        "resp",
    ] {
        assert!(fields.contains(&f), "{f} in {info}");
    }
    assert!(info.contains(&format!("id={a_id} ")));
    assert!(info.contains(" name=alpha ") && info.contains(" db=3 "));
    assert!(info.contains(" cmd=client|info "));
    assert!(info.contains(&format!("laddr=127.0.0.1:{} ", s.port)));
    let my_addr = a.s.local_addr().unwrap().to_string();
    assert!(info.contains(&format!("addr={my_addr} ")), "{info}");
    let list = bulk_text(&b.q(&["CLIENT", "LIST"]));
    assert!(list.lines().count() >= 2);
    assert!(list.contains(&format!("id={a_id} ")) && list.contains(&format!("id={b_id} ")));
    assert_eq!(bulk_text(&b.q(&["CLIENT", "LIST", "TYPE", "pubsub"])), "");
    assert_eq!(
        b.q(&["CLIENT", "LIST", "TYPE", "x"]),
        "-ERR Unknown client type 'x'\r\n"
    );
    assert_eq!(
        b.q(&["CLIENT", "KILL", "1.2.3.4:5"]),
        "-ERR No such client\r\n"
    );
    assert_eq!(b.q(&["CLIENT", "KILL", "ID", "999999"]), ":0\r\n");
    assert_eq!(
        b.q(&["CLIENT", "KILL", "ID", "abc"]),
        "-ERR client-id should be greater than 0\r\n"
    );
    assert_eq!(
        b.q(&["CLIENT", "KILL", "foo", "bar"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(b.q(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    assert_eq!(b.q(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
    assert!(b.q(&["CLIENT", "HELP"]).starts_with("*"));
    // KILL ID: the victim sees its connection closed.
    assert_eq!(b.q(&["CLIENT", "KILL", "ID", &a_id]), ":1\r\n");
    assert_eq!(
        a.try_read_reply().ok().flatten(),
        None,
        "killed client still open"
    );
    // KILL ADDR (old form and new form) of other connections.
    let mut v = s.raw();
    v.q(&["PING"]);
    let v_addr = v.s.local_addr().unwrap().to_string();
    assert_eq!(b.q(&["CLIENT", "KILL", &v_addr]), "+OK\r\n");
    assert_eq!(v.try_read_reply().ok().flatten(), None);
    let mut w = s.raw();
    w.q(&["PING"]);
    let w_addr = w.s.local_addr().unwrap().to_string();
    assert_eq!(
        b.q(&["CLIENT", "KILL", "ADDR", &w_addr, "SKIPME", "yes"]),
        ":1\r\n"
    );
    assert_eq!(w.try_read_reply().ok().flatten(), None);
    // The killed clients leave the list.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let list = bulk_text(&b.q(&["CLIENT", "LIST"]));
        if !list.contains(&format!("id={a_id} ")) && !list.contains(&format!("addr={v_addr} ")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "killed clients still listed: {list}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn slowlog_memory(s: &Server) {
    let mut c = s.raw();
    assert_eq!(c.q(&["SLOWLOG", "RESET"]), "+OK\r\n");
    assert_eq!(
        c.q(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]),
        "+OK\r\n"
    );
    c.q(&["CLIENT", "SETNAME", "slowpoke"]);
    let big = "x".repeat(200);
    c.q(&["SET", "slowkey", &big]);
    assert_eq!(
        c.q(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]),
        "+OK\r\n"
    );
    let r = c.q(&["SLOWLOG", "GET", "1"]);
    // Newest first: our SET (the CONFIG SET that turned the log off is
    // not logged, as in Redis).
    assert!(r.starts_with("*1\r\n*6\r\n:"), "{r}");
    assert!(r.contains("$3\r\nSET\r\n$7\r\nslowkey\r\n"));
    let truncated = format!("{}... (72 more bytes)", "x".repeat(128));
    assert!(
        r.contains(&format!("${}\r\n{truncated}\r\n", truncated.len())),
        "{r}"
    );
    assert!(r.contains("$8\r\nslowpoke\r\n"));
    let addr = c.s.local_addr().unwrap().to_string();
    assert!(r.contains(&addr));
    assert!(c.q(&["SLOWLOG", "LEN"]).starts_with(':'));
    assert_eq!(c.q(&["SLOWLOG", "RESET"]), "+OK\r\n");
    assert_eq!(c.q(&["SLOWLOG", "LEN"]), ":0\r\n");
    assert_eq!(
        c.q(&["SLOWLOG", "GET", "-2"]),
        "-ERR count should be greater than or equal to -1\r\n"
    );
    // Passwords never reach the log: AUTH, HELLO ... AUTH and the values
    // of secret parameters show as (redacted), as redis-server 7.0.15's
    // entries (recorded) do.
    c.q(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    c.q(&["AUTH", "secretpw"]);
    c.q(&["HELLO", "2", "AUTH", "default", "secretpw", "SETNAME", "x"]);
    c.q(&["CONFIG", "SET", "maxmemory", "0", "requirepass", ""]);
    let log = c.q(&["SLOWLOG", "GET", "10"]);
    for entry in [
        "*2\r\n$4\r\nAUTH\r\n$10\r\n(redacted)\r\n",
        "*7\r\n$5\r\nHELLO\r\n$1\r\n2\r\n$4\r\nAUTH\r\n$10\r\n(redacted)\r\n$10\r\n(redacted)\r\n\
         $7\r\nSETNAME\r\n$1\r\nx\r\n",
        "*6\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n\
         $11\r\nrequirepass\r\n$10\r\n(redacted)\r\n",
    ] {
        assert!(log.contains(entry), "{entry:?} not in {log}");
    }
    assert!(!log.contains("secretpw"), "{log}");
    c.q(&["CONFIG", "SET", "slowlog-log-slower-than", "10000"]);

    assert_eq!(c.q(&["MEMORY", "USAGE", "nosuch"]), "$-1\r\n");
    let small: i64 = c.q(&["MEMORY", "USAGE", "slowkey"])[1..]
        .trim()
        .parse()
        .unwrap();
    assert!(small > 200 && small < 400, "{small}");
    for i in 0..100 {
        c.q(&["RPUSH", "biglist", &format!("element-{i}")]);
    }
    let l: i64 = c.q(&["MEMORY", "USAGE", "biglist", "SAMPLES", "0"])[1..]
        .trim()
        .parse()
        .unwrap();
    assert!(l > 1000 && l < 4000, "{l}");
    assert_eq!(
        c.q(&["MEMORY", "USAGE", "biglist", "FOO"]),
        "-ERR syntax error\r\n"
    );
    assert!(c.q(&["LASTSAVE"]).starts_with(':'));
    // SAVE/BGSAVE themselves are tested in rdb.rs with their own --dir
    // (this server's dir is the working directory).
    assert_eq!(c.q(&["BGSAVE", "NOW"]), "-ERR syntax error\r\n");
    assert_eq!(c.q(&["DEBUG", "SLEEP", "0"]), "+OK\r\n");
    assert_eq!(
        c.q(&["DEBUG", "JMAP"]),
        "-ERR unknown subcommand 'JMAP'. Try DEBUG HELP.\r\n"
    );
    assert_eq!(c.q(&["LATENCY", "LATEST"]), "*0\r\n");
    assert_eq!(c.q(&["FLUSHALL", "ASYNC"]), "+OK\r\n");
    assert_eq!(c.q(&["DBSIZE"]), ":0\r\n");
    assert_eq!(c.q(&["FLUSHDB", "SYNC"]), "+OK\r\n");
    assert_eq!(c.q(&["FLUSHALL", "LATER"]), "-ERR syntax error\r\n");
}

fn on_both(f: fn(&Server)) {
    for backend in ["threads", "uring"] {
        if let Some(s) = Server::kvserver_if_available(backend) {
            f(&s);
        }
    }
}

#[test]
fn info_sections_and_commandstats() {
    on_both(info_cmds);
}

#[test]
fn config_get_set() {
    on_both(config_cmds);
}

#[test]
fn command_introspection() {
    on_both(command_cmds);
}

#[test]
fn subcommands_and_enforced_flags() {
    on_both(subcommands_and_flags);
}

#[test]
fn client_list_info_kill() {
    on_both(client_cmds);
}

#[test]
fn slowlog_memory_and_friends() {
    on_both(slowlog_memory);
}

#[test]
fn shutdown_ends_the_process() {
    for backend in ["threads", "uring"] {
        let Some(mut s) = Server::kvserver_if_available(backend) else {
            continue;
        };
        let mut c = s.raw();
        assert_eq!(
            c.q(&["SHUTDOWN", "ABORT"]),
            "-ERR No shutdown in progress.\r\n"
        );
        c.send_raw(&common::encode(&[b"SHUTDOWN", b"NOSAVE"]));
        assert_eq!(c.try_read_reply().ok().flatten(), None, "connection closed");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = s.child.try_wait().unwrap() {
                assert!(st.success(), "{st:?}");
                break;
            }
            assert!(Instant::now() < deadline, "still running after SHUTDOWN");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Directives on the command line, as redis-server takes them.
#[test]
fn redis_style_options() {
    // appendonly yes: the AOF directory goes to a directory of our own.
    let dir = std::env::temp_dir()
        .join(format!("kv-opts-{}", std::process::id()))
        .display()
        .to_string();
    std::fs::create_dir_all(&dir).unwrap();
    let s = Server::spawn(env!("CARGO_BIN_EXE_kvserver"), |port| {
        [
            "--port",
            &port.to_string(),
            "--io-threads",
            "1",
            "--backend",
            "threads",
            "--appendonly",
            "yes",
            "--save",
            "900",
            "1",
            "--maxmemory",
            "1gb",
            "--dir",
            &dir,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    });
    let mut c = s.raw();
    assert_eq!(
        c.q(&["CONFIG", "GET", "appendonly"]),
        "*2\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "GET", "save"]),
        "*2\r\n$4\r\nsave\r\n$5\r\n900 1\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "GET", "maxmemory"]),
        "*2\r\n$9\r\nmaxmemory\r\n$10\r\n1073741824\r\n"
    );
    // DEBUG is off unless enable-debug-command allows it (Redis 7.0's
    // default and message; DEBUG SLEEP would stop an I/O thread).
    assert_eq!(
        c.q(&["DEBUG", "SLEEP", "5"]),
        "-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", \
         you can run it from a local connection, otherwise you need to set this option in the \
         configuration file, and then restart the server.\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "GET", "enable-debug-command"]),
        "*2\r\n$20\r\nenable-debug-command\r\n$2\r\nno\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "SET", "enable-debug-command", "yes"]),
        "-ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set immutable config\r\n"
    );
    assert_eq!(
        c.q(&["CONFIG", "GET", "dir"]),
        format!("*2\r\n$3\r\ndir\r\n${}\r\n{dir}\r\n", dir.len())
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kvserver"))
        .args(["--bind", "1.2.3.4", "5.6.7.8"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only one bind address"));
    drop(c);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

fn cli(port: u16, args: &[&str], stdin: Option<&str>) -> (String, String) {
    let mut child = Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running redis-cli");
    {
        use std::io::Write;
        let mut i = child.stdin.take().unwrap();
        if let Some(t) = stdin {
            i.write_all(t.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn redis_cli_server_commands() {
    assert!(
        on_path("redis-cli"),
        "redis-cli is not on PATH (Debian package redis-tools)"
    );
    let s = Server::kvserver("threads");
    let (out, err) = cli(s.port, &["INFO", "server"], None);
    assert!(out.starts_with("# Server"), "{out}");
    assert!(out.contains("redis_version:7.0.15"));
    assert!(err.is_empty(), "{err}");
    let (out, _) = cli(s.port, &["--no-raw", "CONFIG", "GET", "maxmemory"], None);
    assert_eq!(out, "1) \"maxmemory\"\n2) \"0\"\n");
    let (out, err) = cli(s.port, &[], Some("SET a b\nGET a\nCOMMAND DOCS get\n"));
    assert!(out.starts_with("OK\nb\n"), "{out}");
    assert!(err.is_empty(), "{err}");
    let (out, _) = cli(s.port, &["CLIENT", "LIST"], None);
    assert!(out.contains("cmd=client|list"));
}

//! Keyspace notifications (Redis's notify.c): the events handlers raise
//! ([`crate::exec::context::Ctx::changed`], `Ctx::notify`), and those of
//! the keyspace itself (`expired`, `evicted`), published after the command
//! to `__keyspace@<db>__:<key>` (the event's name as the message) and
//! `__keyevent@<db>__:<event>` (the key), as `notify-keyspace-events`
//! selects. An event is only recorded when its class is selected, so with
//! the default (nothing) it costs one load per change.

use super::effects::Effects;
use crate::server::Server;

/// Redis's NOTIFY_* classes (the letters of notify-keyspace-events).
pub mod class {
    /// K: publish to `__keyspace@<db>__:<key>`.
    pub const KEYSPACE: u32 = 1 << 0;
    /// E: publish to `__keyevent@<db>__:<event>`.
    pub const KEYEVENT: u32 = 1 << 1;
    /// g: generic commands (DEL, EXPIRE, RENAME, ...).
    pub const GENERIC: u32 = 1 << 2;
    /// $: string commands.
    pub const STRING: u32 = 1 << 3;
    pub const LIST: u32 = 1 << 4;
    pub const SET: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const ZSET: u32 = 1 << 7;
    /// x: keys deleted because they expired.
    pub const EXPIRED: u32 = 1 << 8;
    /// e: keys evicted by maxmemory.
    pub const EVICTED: u32 = 1 << 9;
    pub const STREAM: u32 = 1 << 10;
    /// m: read lookups that found no key (`keymiss`; not in `A`).
    pub const KEY_MISS: u32 = 1 << 11;
    /// n: keys created.
    pub const NEW: u32 = 1 << 13;
}

/// The classes of a notify-keyspace-events value (validated by the
/// configuration: `A` is `g$lshzxetd`).
pub fn flags_of(v: &str) -> u32 {
    let mut f = 0;
    for c in v.chars() {
        f |= match c {
            'K' => class::KEYSPACE,
            'E' => class::KEYEVENT,
            'g' => class::GENERIC,
            '$' => class::STRING,
            'l' => class::LIST,
            's' => class::SET,
            'h' => class::HASH,
            'z' => class::ZSET,
            'x' => class::EXPIRED,
            'e' => class::EVICTED,
            't' => class::STREAM,
            'n' => class::NEW,
            'm' => class::KEY_MISS,
            'A' => {
                class::GENERIC
                    | class::STRING
                    | class::LIST
                    | class::SET
                    | class::HASH
                    | class::ZSET
                    | class::EXPIRED
                    | class::EVICTED
                    | class::STREAM
            }
            _ => 0,
        };
    }
    // Without K or E nothing is published (Redis's rule).
    if f & (class::KEYSPACE | class::KEYEVENT) == 0 {
        0
    } else {
        f
    }
}

/// Publishes the unit's events (and forgets them).
pub fn publish(server: &Server, fx: &mut Effects) {
    let flags = fx.notify;
    for ev in std::mem::take(&mut fx.events) {
        if flags & class::KEYSPACE != 0 {
            let channel = [
                b"__keyspace@".as_slice(),
                ev.db.to_string().as_bytes(),
                b"__:",
                &ev.key,
            ]
            .concat();
            crate::cmd::pubsub::publish_to(server, &mut fx.deliver, &channel, ev.name.as_bytes());
        }
        if flags & class::KEYEVENT != 0 {
            let channel = format!("__keyevent@{}__:{}", ev.db, ev.name);
            crate::cmd::pubsub::publish_to(server, &mut fx.deliver, channel.as_bytes(), &ev.key);
        }
    }
}

//! Pub/sub (Redis's pubsub.c): SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE
//! PUNSUBSCRIBE PUBLISH, the sharded forms SSUBSCRIBE SUNSUBSCRIBE SPUBLISH
//! (shard channels are a namespace of their own: PUBLISH does not reach
//! them, nor SPUBLISH the others; without a cluster every shard channel is
//! on this server), and PUBSUB.
//!
//! The registry maps each channel, each pattern and each shard channel to
//! its subscribers
//! (client id → thread and slab key). PUBLISH takes it for reading,
//! records one [`Delivery::Message`] per receiver (its I/O thread posts
//! them to the receivers' threads right after the command, before the
//! reply is sent) and answers how many there were (across all threads).
//! Each receiver's owner encodes the message for the client's protocol
//! when it delivers it: a RESP2 array, or a RESP3 push (`>3`). Messages to
//! one subscriber arrive in publish order: they are posted in order, and
//! an inbox is FIFO.
//!
//! A client's own subscriptions (in subscription order, for UNSUBSCRIBE's
//! replies and counts) are in [`Client`]. In RESP2 a subscribed client may
//! only run (P)SUBSCRIBE, (P)UNSUBSCRIBE, PING, QUIT and RESET (checked in
//! [`crate::exec::pipeline::execute`]); in RESP3 anything.

use crate::exec::context::Ctx;
use crate::exec::effects::{ClientRef, Delivery};
use crate::proto::reply::Reply;
use crate::server::{Client, Server};
use crate::util::glob_match;
use bytes::Bytes;
use hashbrown::HashMap;
use indexmap::{IndexMap, IndexSet};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

#[derive(Debug, Clone, Copy)]
struct Sub {
    thread: usize,
    conn: usize,
}

impl Sub {
    fn to(self, id: u64) -> ClientRef {
        ClientRef {
            thread: self.thread,
            conn: self.conn,
            id,
        }
    }
}

type Subscribers = HashMap<Bytes, IndexMap<u64, Sub>>;

#[derive(Debug, Default)]
struct Registry {
    channels: Subscribers,
    patterns: Subscribers,
    shard: Subscribers,
}

/// What a (un)subscription is to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    /// The client's names of this kind, and the registry's.
    fn sets<'a>(
        self,
        c: &'a mut Client,
        reg: &'a mut Registry,
    ) -> (&'a mut IndexSet<Bytes>, &'a mut Subscribers) {
        match self {
            Kind::Channel => (&mut c.channels, &mut reg.channels),
            Kind::Pattern => (&mut c.patterns, &mut reg.patterns),
            Kind::Shard => (&mut c.shard_channels, &mut reg.shard),
        }
    }

    /// The count a confirmation carries: shard channels are counted
    /// apart (redis-server 7.0.15).
    fn count(self, c: &Client) -> i64 {
        match self {
            Kind::Shard => c.shard_channels.len() as i64,
            _ => (c.channels.len() + c.patterns.len()) as i64,
        }
    }
}

/// Channel and pattern subscriptions of every client.
#[derive(Debug, Default)]
pub struct PubSub {
    reg: RwLock<Registry>,
}

impl PubSub {
    fn read(&self) -> RwLockReadGuard<'_, Registry> {
        self.reg.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Registry> {
        self.reg.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Channels with subscribers (INFO's `pubsub_channels`).
    pub fn channel_count(&self) -> usize {
        self.read().channels.len()
    }

    /// Patterns with subscribers (INFO's `pubsub_patterns`).
    pub fn pattern_count(&self) -> usize {
        self.read().patterns.len()
    }

    /// Shard channels with subscribers (INFO's `pubsubshard_channels`).
    pub fn shard_channel_count(&self) -> usize {
        self.read().shard.len()
    }
}

/// Encodes a delivered message: `message channel payload`, `pmessage
/// pattern channel payload` or `smessage channel payload`, as a push in
/// RESP3.
pub fn encode_message(
    out: &mut Reply,
    pattern: Option<&[u8]>,
    shard: bool,
    channel: &[u8],
    payload: &[u8],
) {
    match pattern {
        Some(p) => {
            out.push(4);
            out.bulk(b"pmessage");
            out.bulk(p);
        }
        None => {
            out.push(3);
            out.bulk(if shard { b"smessage" } else { b"message" });
        }
    }
    out.bulk(channel);
    out.bulk(payload);
}

fn confirm(out: &mut Reply, kind: &[u8], name: Option<&[u8]>, n: i64) {
    out.push(3);
    out.bulk(kind);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(n);
}

fn sub_of(c: &Client) -> Sub {
    Sub {
        thread: c.thread,
        conn: c.conn,
    }
}

/// SUBSCRIBE channel [channel ...]
pub fn subscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    subscribe_generic(ctx, argv, Kind::Channel);
}

/// PSUBSCRIBE pattern [pattern ...]
pub fn psubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    subscribe_generic(ctx, argv, Kind::Pattern);
}

/// SSUBSCRIBE shardchannel [shardchannel ...]
pub fn ssubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    subscribe_generic(ctx, argv, Kind::Shard);
}

/// (P|S)SUBSCRIBE: registers each name not yet subscribed, and confirms
/// every name with the new count.
fn subscribe_generic(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind) {
    let reply: &[u8] = match kind {
        Kind::Channel => b"subscribe",
        Kind::Pattern => b"psubscribe",
        Kind::Shard => b"ssubscribe",
    };
    let mut reg = ctx.server.pubsub.write();
    let c = &mut *ctx.client;
    for &name in &argv[1..] {
        let name = Bytes::copy_from_slice(name);
        let (id, sub) = (c.id, sub_of(c));
        let (mine, all) = kind.sets(c, &mut reg);
        if mine.insert(name.clone()) {
            all.entry(name.clone()).or_default().insert(id, sub);
        }
        confirm(ctx.out, reply, Some(&name), kind.count(c));
    }
    note_counts(ctx.client);
}

/// Shows `c`'s subscription counts in CLIENT LIST.
fn note_counts(c: &Client) {
    c.info
        .set_subscriptions(c.channels.len(), c.patterns.len(), c.shard_channels.len());
}

/// Drops `id` from `name`'s subscribers (and the entry if it was the last).
fn forget(map: &mut Subscribers, name: &[u8], id: u64) {
    if let Some(subs) = map.get_mut(name) {
        subs.shift_remove(&id);
        if subs.is_empty() {
            map.remove(name);
        }
    }
}

/// (P|S)UNSUBSCRIBE [name ...]: from the given ones, or from all (one
/// reply each, or one with a null name if there were none).
fn unsubscribe_generic(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind) {
    let reply: &[u8] = match kind {
        Kind::Channel => b"unsubscribe",
        Kind::Pattern => b"punsubscribe",
        Kind::Shard => b"sunsubscribe",
    };
    let mut reg = ctx.server.pubsub.write();
    let c = &mut *ctx.client;
    let names: Vec<Bytes> = if argv.len() > 1 {
        argv[1..]
            .iter()
            .map(|a| Bytes::copy_from_slice(a))
            .collect()
    } else {
        kind.sets(c, &mut reg).0.iter().cloned().collect()
    };
    if names.is_empty() {
        return confirm(ctx.out, reply, None, kind.count(c));
    }
    for name in names {
        let id = c.id;
        let (mine, all) = kind.sets(c, &mut reg);
        if mine.shift_remove(&name) {
            forget(all, &name, id);
        }
        confirm(ctx.out, reply, Some(&name), kind.count(c));
    }
    note_counts(ctx.client);
}

/// UNSUBSCRIBE [channel ...]
pub fn unsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    unsubscribe_generic(ctx, argv, Kind::Channel);
}

/// PUNSUBSCRIBE [pattern ...]
pub fn punsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    unsubscribe_generic(ctx, argv, Kind::Pattern);
}

/// SUNSUBSCRIBE [shardchannel ...]
pub fn sunsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    unsubscribe_generic(ctx, argv, Kind::Shard);
}

/// Drops every subscription of `client`, without replies (RESET, close).
pub fn unsubscribe_all(server: &Server, client: &mut Client) {
    if !client.subscribed() {
        return;
    }
    let mut reg = server.pubsub.write();
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        let id = client.id;
        let (mine, all) = kind.sets(client, &mut reg);
        for name in mine.drain(..) {
            forget(all, &name, id);
        }
    }
    drop(reg);
    note_counts(client);
}

/// PUBLISH channel message: the number of receivers.
pub fn publish(ctx: &mut Ctx, argv: &[&[u8]]) {
    let n = publish_to(ctx.server, &mut ctx.fx.deliver, argv[1], argv[2]);
    ctx.out.int(n as i64);
}

/// SPUBLISH shardchannel message: the number of receivers (the shard
/// channel's subscribers only).
pub fn spublish(ctx: &mut Ctx, argv: &[&[u8]]) {
    let reg = ctx.server.pubsub.read();
    let mut n = 0;
    if let Some(subs) = reg.shard.get(argv[1]) {
        let channel = Bytes::copy_from_slice(argv[1]);
        let payload = Bytes::copy_from_slice(argv[2]);
        for (&id, s) in subs {
            ctx.fx.deliver.push(Delivery::Message {
                to: s.to(id),
                pattern: None,
                shard: true,
                channel: channel.clone(),
                payload: payload.clone(),
            });
            n += 1;
        }
    }
    ctx.out.int(n);
}

/// Records a delivery of `payload` to each subscriber of `channel` and of
/// a pattern matching it (PUBLISH, keyspace notifications); how many.
pub fn publish_to(
    server: &Server,
    deliver: &mut Vec<Delivery>,
    channel: &[u8],
    payload: &[u8],
) -> usize {
    let reg = server.pubsub.read();
    if reg.channels.is_empty() && reg.patterns.is_empty() {
        return 0;
    }
    let (name, channel) = (channel, Bytes::copy_from_slice(channel));
    let payload = Bytes::copy_from_slice(payload);
    let mut n = 0;
    if let Some(subs) = reg.channels.get(name) {
        for (&id, s) in subs {
            deliver.push(Delivery::Message {
                to: s.to(id),
                pattern: None,
                shard: false,
                channel: channel.clone(),
                payload: payload.clone(),
            });
            n += 1;
        }
    }
    for (pat, subs) in &reg.patterns {
        if !glob_match(pat, name, false) {
            continue;
        }
        for (&id, s) in subs {
            deliver.push(Delivery::Message {
                to: s.to(id),
                pattern: Some(pat.clone()),
                shard: false,
                channel: channel.clone(),
                payload: payload.clone(),
            });
            n += 1;
        }
    }
    n
}

const HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// The error of a subcommand taking an optional argument, given two
/// (Redis's addReplySubcommandSyntaxError).
fn syntax_error(ctx: &mut Ctx, sub: &[u8]) {
    let mut m = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
    m.extend_from_slice(sub);
    m.extend_from_slice(b"'. Try PUBSUB HELP.");
    ctx.out.error_bytes(&m);
}

/// `PUBSUB CHANNELS [pattern]`: the channels with subscribers.
pub fn channels(ctx: &mut Ctx, argv: &[&[u8]]) {
    list_channels(ctx, argv, Kind::Channel)
}

/// `PUBSUB SHARDCHANNELS [pattern]`: the shard channels with subscribers.
pub fn shardchannels(ctx: &mut Ctx, argv: &[&[u8]]) {
    list_channels(ctx, argv, Kind::Shard)
}

fn list_channels(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind) {
    if argv.len() > 3 {
        return syntax_error(ctx, argv[1]);
    }
    let reg = ctx.server.pubsub.read();
    let map = if kind == Kind::Shard {
        &reg.shard
    } else {
        &reg.channels
    };
    let names: Vec<Bytes> = map
        .keys()
        .filter(|ch| argv.len() == 2 || glob_match(argv[2], ch, false))
        .cloned()
        .collect();
    drop(reg);
    ctx.out.array(names.len());
    for n in &names {
        ctx.out.bulk(n);
    }
}

/// PUBSUB NUMSUB [channel ...]: each channel with its subscriber count.
pub fn numsub(ctx: &mut Ctx, argv: &[&[u8]]) {
    count_subscribers(ctx, argv, Kind::Channel)
}

/// PUBSUB SHARDNUMSUB [shardchannel ...]: the same for shard channels.
pub fn shardnumsub(ctx: &mut Ctx, argv: &[&[u8]]) {
    count_subscribers(ctx, argv, Kind::Shard)
}

fn count_subscribers(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind) {
    let reg = ctx.server.pubsub.read();
    let map = if kind == Kind::Shard {
        &reg.shard
    } else {
        &reg.channels
    };
    ctx.out.array(2 * (argv.len() - 2));
    for ch in &argv[2..] {
        ctx.out.bulk(ch);
        ctx.out.int(map.get(*ch).map_or(0, |s| s.len()) as i64);
    }
}

/// PUBSUB NUMPAT: the patterns with subscribers.
pub fn numpat(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let n = ctx.server.pubsub.read().patterns.len();
    ctx.out.int(n as i64);
}

/// PUBSUB HELP
pub fn help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.array(HELP.len());
    for l in HELP {
        ctx.out.simple(l);
    }
}

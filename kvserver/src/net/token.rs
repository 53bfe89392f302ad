//! What each ring completion of an I/O thread is for: its token (the
//! `user_data` of the op), one enum encoded in a u64.
//!
//! ```text
//! u64::MAX      Listener   the acceptor's multishot ACCEPT (fastio's)
//! u64::MAX - 1  Rearm      the acceptor's timer after a failed accept
//! u64::MAX - 2  Wake       this thread's RECV on its wake socket (and its close)
//! u64::MAX - 3  WakeOther  a one-byte SEND waking another thread
//! u64::MAX - 16..-19       Aof(op): the AOF writer's write, fsync, close, retry timer
//! gen << 32 | slot         Conn: an op of the connection in slab slot `slot`,
//!                          generation `gen` (< 2^31: never the values above)
//! ```
//!
//! The generation tags every op of a connection: a completion for a
//! connection that closed and whose slot was reused is recognised and
//! dropped.

use crate::persist::aof::AofOp;
use fastio::server::accept::{LISTENER, REARM};

/// Generations stay below 2^31, so no connection token reaches the
/// reserved ones at the top of the u64 range.
pub const GEN_MASK: u32 = 0x7fff_ffff;

const WAKE: u64 = u64::MAX - 2;
const WAKE_OTHER: u64 = u64::MAX - 3;
const AOF_BASE: u64 = u64::MAX - 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    Listener,
    Rearm,
    Wake,
    WakeOther,
    Aof(AofOp),
    Conn { slot: usize, gen: u32 },
}

impl Token {
    pub fn encode(self) -> u64 {
        match self {
            Token::Listener => LISTENER,
            Token::Rearm => REARM,
            Token::Wake => WAKE,
            Token::WakeOther => WAKE_OTHER,
            Token::Aof(op) => AOF_BASE - op as u64,
            Token::Conn { slot, gen } => ((gen & GEN_MASK) as u64) << 32 | slot as u32 as u64,
        }
    }

    pub fn decode(t: u64) -> Token {
        match t {
            LISTENER => Token::Listener,
            REARM => Token::Rearm,
            WAKE => Token::Wake,
            WAKE_OTHER => Token::WakeOther,
            t if t <= AOF_BASE && t > AOF_BASE - 4 => Token::Aof(AofOp::from_index(AOF_BASE - t)),
            t => Token::Conn {
                slot: t as u32 as usize,
                gen: (t >> 32) as u32,
            },
        }
    }

    /// The token of connection `slot`, generation `gen`.
    pub fn conn(slot: usize, gen: u32) -> u64 {
        Token::Conn { slot, gen }.encode()
    }

    /// The token of an AOF op (what the writer submits its ops with).
    pub fn aof(op: AofOp) -> u64 {
        Token::Aof(op).encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_never_collide() {
        let all = [
            Token::Listener,
            Token::Rearm,
            Token::Wake,
            Token::WakeOther,
            Token::Aof(AofOp::Write),
            Token::Aof(AofOp::Fsync),
            Token::Aof(AofOp::Close),
            Token::Aof(AofOp::Retry),
            Token::Conn { slot: 0, gen: 0 },
            Token::Conn {
                slot: u32::MAX as usize,
                gen: GEN_MASK,
            },
        ];
        let mut seen = std::collections::HashSet::new();
        for t in all {
            assert_eq!(Token::decode(t.encode()), t, "{t:?}");
            assert!(seen.insert(t.encode()), "{t:?} collides");
        }
    }
}

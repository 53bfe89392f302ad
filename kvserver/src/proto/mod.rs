//! The wire protocol: RESP requests ([`request`]: multibulk and inline
//! parsing with Redis's limits, and the encoding the AOF uses) and replies
//! ([`reply`]: RESP2 or RESP3, whichever the connection speaks).
//!
//! May import only `util`. Start reading at `request::parse_resuming`
//! and `reply::Reply`.

pub mod reply;
pub mod request;

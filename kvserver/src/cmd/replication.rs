//! Replication commands (Redis's replication.c). No replication yet
//! (issue 18): WAIT answers how many replicas acknowledged, which is none,
//! after its timeout as Redis does when too few have.

use crate::exec::blocking::{self, OnTimeout};
use crate::exec::context::Ctx;
use crate::proto::reply::err;
use crate::util::parse_i64;

/// WAIT numreplicas timeout (ms; 0 = for ever): with no replica to
/// acknowledge, 0 at once when 0 are asked for (or inside MULTI or a
/// script, which cannot block), else 0 when the timeout passes (or CLIENT
/// UNBLOCK), as redis-server 7.0 answers on a master without replicas.
pub fn wait(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(wanted) = parse_i64(argv[1]) else {
        return ctx.out.error(err::NOT_INTEGER);
    };
    let timeout = match super::parse_timeout_ms(argv[2]) {
        Ok(t) => t,
        Err(e) => return ctx.out.error(e),
    };
    let acked = 0;
    if wanted <= acked || ctx.client.multi.is_some() || ctx.client.deny_blocking {
        return ctx.out.int(acked);
    }
    let deadline = (timeout > 0).then(|| (ctx.start_us / 1000).saturating_add(timeout));
    let Some(cmd) = crate::exec::table::by_own_name(b"wait") else {
        return ctx.out.int(acked);
    };
    blocking::block_until(ctx, deadline, OnTimeout::Replicas, cmd);
}

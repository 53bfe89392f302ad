//! MODULE (Redis's module.c commands): kvserver loads no Redis modules (a
//! module is a shared object written against Redis's C API). MODULE LIST
//! answers that none is loaded, which is what client libraries' health
//! checks and test suites ask; LOAD, LOADEX and UNLOAD are refused with
//! Redis's errors (behind `enable-module-command`, as Redis 7.0).

use crate::exec::context::Ctx;

/// Redis 7.0's text when enable-module-command does not allow it.
const NOT_ALLOWED: &str = "ERR MODULE command not allowed. If the enable-module-command option \
    is set to \"local\", you can run it from a local connection, otherwise you need to set this \
    option in the configuration file, and then restart the server.";

/// Whether `enable-module-command` lets this client load or unload.
fn allowed(ctx: &Ctx) -> bool {
    let setting = ctx.server.config.get("enable-module-command");
    crate::exec::security::debug_allowed(&setting, ctx.client.info.peer_ip)
}

/// MODULE LIST: no module is loaded.
pub fn list(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.array(0);
}

/// MODULE LOAD path [arg ...] / LOADEX: refused (as Redis refuses a path
/// it cannot load).
pub fn load(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if !allowed(ctx) {
        return ctx.out.error(NOT_ALLOWED);
    }
    eprintln!("kvserver: MODULE LOAD refused: kvserver cannot load Redis modules");
    ctx.out
        .error("ERR Error loading the extension. Please check the server logs.")
}

/// MODULE UNLOAD name: there is none to unload.
pub fn unload(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if !allowed(ctx) {
        return ctx.out.error(NOT_ALLOWED);
    }
    ctx.out
        .error("ERR Error unloading module: no such module with that name")
}

/// MODULE HELP
pub fn help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    super::help(
        ctx,
        "MODULE",
        &[
            "LIST",
            "    Return a list of loaded modules.",
            "LOAD <path> [<arg> ...]",
            "    Load a module library from <path>, passing to it any optional arguments.",
            "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
            "    Load a module library from <path>, while passing it module configurations and \
             optional arguments.",
            "UNLOAD <name>",
            "    Unload a module.",
        ],
    )
}

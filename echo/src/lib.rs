//! Echo servers.

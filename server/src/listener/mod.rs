//! Listeners: the AWS HTTP API ([`http`]). The native protocol's listener is `crate::native`.

pub mod console;
pub mod http;

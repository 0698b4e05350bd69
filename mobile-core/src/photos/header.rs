//! The photo header check lives in `patrol_protocol::photo_header`, shared with the
//! server; here its refusal becomes the core's error.

pub use patrol_protocol::photo_header::{Format, Header, MAX_PIXELS, MAX_SIDE};

use crate::error::{Error, Result};

/// Reads the header and applies the bounds. Nothing here allocates in proportion to
/// what the file claims.
pub fn inspect(bytes: &[u8]) -> Result<Header> {
    patrol_protocol::photo_header::inspect(bytes).map_err(|r| Error::invalid("photo", r))
}

//! Audit: the transparency log of everything accepted and decided (`log`), its public
//! API, the verifier of the whole database (with the rebuild of every projection from
//! the records, `replay`), the witness, and monthly archives.
//! docs/audit.md says what is proven and what is not.

pub mod archive;
pub mod cosign;
pub mod log;
pub mod monitor;
pub mod replay;
pub mod verify;
pub mod witness;
pub mod witnessed;

use patrol_protocol::Id;

use crate::store::{DbError, Store};

/// The verification code printed on a notice: its numbering leaf checked against a
/// signed head (signed now if none covers the leaf yet). `None` before it is numbered.
pub async fn notice_code(store: &Store, now: i64, notice_id: Id) -> Result<Option<String>, DbError> {
    // The numbering leaf may still be pending (within the merge delay).
    crate::sequencer::catch_up(store, now).await?;
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let index = store.tx_blocking(false, |c| {
            let Some(r) =
                c.query_opt("SELECT raised_record_id FROM notices WHERE id = $1", &crate::params![notice_id])?
            else {
                return Ok(None);
            };
            log::record_leaf(c, r.uuid(0)?, "notice_numbered")
        })?;
        let Some(index) = index else { return Ok(None) };
        let head = log::current_head(&store, now)?;
        Ok(Some(log::code(index, &head)))
    })
    .await
    .map_err(|e| DbError::Backend(format!("audit task failed: {e}")))?
}

/// How a person who left is named in views: their records keep the person's id (the
/// hashes never change), only the name shown is withheld. The number is stable per
/// person, so a reader can still tell two of them apart.
pub fn departed_name(person_id: Id) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(person_id.as_bytes());
    format!("已离职人员 #{}", u16::from_be_bytes([h[0], h[1]]) % 10_000)
}

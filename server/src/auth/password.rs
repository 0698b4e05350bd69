//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 256;

pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 accepts any password").to_string()
}

pub fn verify(stored: &str, password: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash of nothing in particular, verified against when the login does not exist so
/// that an unknown login takes as long as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("no such person / 无此用户"))
}

/// A random password for demo and bootstrap accounts: 16 characters that are easy to
/// read aloud (no 0/O, 1/l/I).
pub fn generate() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..16).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

/// Password hashing at once, server-wide. Each argon2 run holds 19 MiB and a core
/// for a few tens of milliseconds, so an unbounded number of sign-ins in flight is
/// an unbounded amount of memory; two at a time keep both cores busy and memory
/// near 40 MiB whatever the number of callers.
pub const CONCURRENT_HASHES: usize = 2;
/// Callers allowed to wait for a hashing slot; past this, sign-ins are answered 503
/// with `Retry-After` instead of queueing without bound.
pub const MAX_WAITING: usize = 64;

static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_HASHES);
static WAITING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Why hashing was not done.
#[derive(Debug, PartialEq, Eq)]
pub struct Busy;

/// Runs `f` (a hash or a verification) on the blocking pool under the server-wide
/// bound: at most [`CONCURRENT_HASHES`] at once and [`MAX_WAITING`] waiting.
pub async fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
    use std::sync::atomic::Ordering;
    struct Waiting;
    impl Drop for Waiting {
        fn drop(&mut self) {
            WAITING.fetch_sub(1, Ordering::SeqCst);
        }
    }
    if WAITING.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
        WAITING.fetch_sub(1, Ordering::SeqCst);
        return Err(Busy);
    }
    let waiting = Waiting;
    let permit = SLOTS.acquire().await.map_err(|_| Busy)?;
    drop(waiting);
    let out = tokio::task::spawn_blocking(f).await.map_err(|_| Busy);
    drop(permit);
    out
}

/// [`hash`] under the server-wide bound.
pub async fn hash_bounded(password: String) -> Result<String, Busy> {
    bounded(move || hash(&password)).await
}

/// Hashes every password of a batch under the bound, one slot for the whole batch.
pub async fn hash_all_bounded(passwords: Vec<String>) -> Result<Vec<String>, Busy> {
    bounded(move || passwords.iter().map(|p| hash(p)).collect()).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = super::hash("correct horse");
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify(&h, "correct horse"));
        assert!(!super::verify(&h, "correct horsf"));
        assert!(!super::verify("not a hash", "correct horse"));
    }
}

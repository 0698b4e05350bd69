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

/// Passwords nobody may choose: the ones guessed first.
const COMMON: &[&str] = &[
    "12345678",
    "123456789",
    "1234567890",
    "87654321",
    "11111111",
    "88888888",
    "66666666",
    "00000000",
    "password",
    "password1",
    "qwertyui",
    "qwerty123",
    "abc12345",
    "a1234567",
    "iloveyou",
    "admin123",
    "1qaz2wsx",
    "woaini1314",
    "aa123456",
    "123456aa",
    "patrol123",
];

/// The minimum password policy (docs/operations.md): 8 to 256 characters, not the
/// login, not one character repeated, not one of the commonly guessed passwords, and
/// both letters and something else (digits or signs). `Err((en, zh))` says why not.
pub fn check_policy(login: &str, password: &str) -> Result<(), (String, String)> {
    let n = password.chars().count();
    let refuse = |en: &str, zh: &str| Err((en.to_string(), zh.to_string()));
    if n < MIN_LEN || password.len() > MAX_LEN {
        return refuse("a password has 8 to 256 characters", "密码须为 8 至 256 个字符");
    }
    let lower = password.to_lowercase();
    if lower == login.to_lowercase() || lower.contains(&login.to_lowercase()) && login.len() >= 4 {
        return refuse("a password may not contain the login", "密码不能包含登录名");
    }
    let first = password.chars().next().unwrap_or_default();
    if password.chars().all(|c| c == first) || COMMON.contains(&lower.as_str()) {
        return refuse("this password is among the first ones guessed; choose another", "该密码过于常见，请另选");
    }
    let letters = password.chars().any(char::is_alphabetic);
    let others = password.chars().any(|c| !c.is_alphabetic());
    if !(letters && others) {
        return refuse("use letters and digits (or signs) together", "密码须同时包含字母和数字（或符号）");
    }
    Ok(())
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
mod policy_tests {
    use super::check_policy;

    #[test]
    fn the_policy_refuses_the_usual_weak_passwords_and_takes_a_plain_good_one() {
        for weak in ["short1", "12345678", "88888888", "aaaaaaaa", "Password", "wangwei2024x", "abcdefgh", "PASSWORD1"]
        {
            let refused = check_policy("wangwei", weak);
            assert!(refused.is_err(), "{weak} was accepted");
            let (en, zh) = refused.unwrap_err();
            assert!(!en.is_empty() && !zh.is_empty());
        }
        for good in ["Hua2026-gate", "巡检口令2026", "x7-kettle-moon"] {
            assert_eq!(check_policy("wangwei", good), Ok(()), "{good}");
        }
    }
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

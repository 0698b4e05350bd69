//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes).
//!
//! The 19 MiB of each run come from a small free list ([`Workspace`]) instead of a fresh
//! allocation per hash: with glibc's malloc a freed 19 MiB block raises its mmap
//! threshold, later blocks come from per-thread arenas and are kept there, and 200
//! sign-ins a second took the server past a gigabyte of resident memory
//! (docs/benchmarks.md, "Resources under load").

use std::sync::Mutex;

use argon2::password_hash::{Output, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use patrol_protocol::reason::Reason;

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 256;

/// Workspaces kept for the next hash: as many as may run at once under the bound.
static FREE: Mutex<Vec<Box<[Block]>>> = Mutex::new(Vec::new());

/// The argon2 memory of one run, taken from the free list (or made) and given back
/// when dropped. Runs that need more blocks than the defaults (a stored hash with a
/// larger `m`) get a block of their own that is not kept.
struct Workspace(Option<Box<[Block]>>);

impl Workspace {
    fn take(blocks: usize) -> Workspace {
        let kept = FREE.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match kept {
            Some(b) if b.len() >= blocks => Workspace(Some(b)),
            other => {
                if let Some(b) = other {
                    Workspace(Some(b)).give_back();
                }
                Workspace(Some(vec![Block::default(); blocks].into_boxed_slice()))
            }
        }
    }

    fn blocks(&mut self, n: usize) -> &mut [Block] {
        &mut self.0.as_mut().expect("workspace present until dropped")[..n]
    }

    fn give_back(&mut self) {
        if let Some(b) = self.0.take() {
            let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
            if free.len() < CONCURRENT_HASHES && b.len() == Params::default().block_count() {
                free.push(b);
            }
        }
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        self.give_back();
    }
}

/// Runs argon2id with `params` into `out`, in a reused workspace.
fn run(params: Params, algorithm: Algorithm, version: Version, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    let n = params.block_count();
    let argon = Argon2::new(algorithm, version, params);
    let mut ws = Workspace::take(n);
    argon.hash_password_into_with_memory(password, salt, out, ws.blocks(n)).is_ok()
}

pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let mut raw = [0u8; 16];
    let salt_bytes = salt.decode_b64(&mut raw).expect("a generated salt decodes");
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    assert!(run(params.clone(), Algorithm::Argon2id, Version::V0x13, password.as_bytes(), salt_bytes, &mut out));
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params).try_into().expect("default parameters encode"),
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).expect("32 bytes is a valid output")),
    };
    phc.to_string()
}

/// The largest memory cost a stored hash may ask for (4× the default): a hash string
/// from elsewhere cannot make one verification take a gigabyte.
const MAX_STORED_M_COST: u32 = 4 * Params::DEFAULT_M_COST;

pub fn verify(stored: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else { return false };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    if params.m_cost() > MAX_STORED_M_COST || params.t_cost() > 16 || params.p_cost() > 4 {
        return false;
    }
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let mut raw = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut raw) else { return false };
    let mut out = vec![0u8; expected.len()];
    if !run(params, algorithm, version, password.as_bytes(), salt, &mut out) {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(&out).is_ok_and(|computed| computed == expected)
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
/// both letters and something else (digits or signs). `Err` says why not.
pub fn check_policy(login: &str, password: &str) -> Result<(), Reason> {
    let n = password.chars().count();
    if n < MIN_LEN || password.len() > MAX_LEN {
        return Err(Reason::PasswordLength);
    }
    let lower = password.to_lowercase();
    if lower == login.to_lowercase() || lower.contains(&login.to_lowercase()) && login.len() >= 4 {
        return Err(Reason::PasswordHasLogin);
    }
    let first = password.chars().next().unwrap_or_default();
    if password.chars().all(|c| c == first) || COMMON.contains(&lower.as_str()) {
        return Err(Reason::PasswordTooCommon);
    }
    let letters = password.chars().any(char::is_alphabetic);
    let others = password.chars().any(|c| !c.is_alphabetic());
    if !(letters && others) {
        return Err(Reason::PasswordNeedsMix);
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
            let why = refused.unwrap_err();
            assert!(why.code().starts_with("password_"), "{weak}: {why:?}");
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

    #[test]
    fn hashes_made_by_the_crates_own_hasher_verify_and_ours_verify_there() {
        use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
        let theirs = argon2::Argon2::default()
            .hash_password(b"Hua2026-gate", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(super::verify(&theirs, "Hua2026-gate"));
        assert!(!super::verify(&theirs, "Hua2026-gatf"));
        let ours = super::hash("Hua2026-gate");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2::Argon2::default().verify_password(b"Hua2026-gate", &parsed).is_ok());
        assert!(argon2::Argon2::default().verify_password(b"hua2026-gate", &parsed).is_err());
    }

    #[test]
    fn a_stored_hash_asking_for_more_than_four_times_the_memory_is_refused() {
        use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
        // A true hash of the password, with m just over the bound: verifying it would
        // be allowed to allocate whatever a stored string asks for.
        let params = argon2::Params::new(super::MAX_STORED_M_COST + 8, 1, 1, None).unwrap();
        let greedy = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(b"Hua2026-gate", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(!super::verify(&greedy, "Hua2026-gate"));
        let params = argon2::Params::new(super::MAX_STORED_M_COST, 1, 1, None).unwrap();
        let largest = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(b"Hua2026-gate", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(super::verify(&largest, "Hua2026-gate"));
    }

    #[test]
    fn workspaces_are_kept_for_reuse_up_to_the_bound() {
        for _ in 0..4 {
            std::thread::scope(|s| {
                for _ in 0..3 {
                    s.spawn(|| assert!(super::verify(&super::hash("x7-kettle-moon"), "x7-kettle-moon")));
                }
            });
        }
        let kept = super::FREE.lock().unwrap().len();
        assert!((1..=super::CONCURRENT_HASHES).contains(&kept), "{kept} workspaces kept");
    }
}

/// Every hashing slot and every place in the queue is taken: the caller retries in
/// a few seconds.
impl From<Busy> for crate::error::DomainError {
    fn from(_: Busy) -> Self {
        crate::error::DomainError::Unavailable(Reason::SignInBusy, "every password-hashing slot is taken".into())
    }
}

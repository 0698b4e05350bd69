//! Settings: built-in defaults, then an optional TOML file, then `PATROL_*` variables.
//! Secrets never appear in `Debug` output.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `sqlite:<path>` or `postgres://…`. Empty means `sqlite:<data_dir>/patrol.db`.
    pub database_url: String,
    /// Where the SQLite file, photos and demo logins live.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Lifetime of access tokens in seconds.
    pub access_token_seconds: i64,
    /// Lifetime of refresh tokens in seconds.
    pub refresh_token_seconds: i64,
    /// Wrong passwords per account per minute before logins are refused with 429.
    pub login_failures_per_account: u32,
    /// Wrong passwords per client address per minute before 429.
    pub login_failures_per_address: u32,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy):
    /// the same as `forwarded_proxies = 1`.
    pub trust_forwarded_for: bool,
    /// How many trusted proxies stand in front of the server (0: none). The client
    /// address is the `X-Forwarded-For` entry this many places from the right.
    pub forwarded_proxies: usize,
    /// Largest request body in bytes (photo uploads have their own bound).
    pub max_body_bytes: usize,
    /// Connections the server keeps to its database (1 to 1000).
    pub database_pool_size: usize,
    /// Seconds a request waits for a free connection before it fails with 503 (1 to 600).
    pub database_acquire_timeout_seconds: u64,
    /// Seconds an idle connection is kept before it is closed (10 to 86 400).
    pub database_idle_timeout_seconds: u64,
    /// Seconds a request may take before the server gives up on it with a 503 (1 to
    /// 3 600); `/live` streams are exempt. Long enough for a 1 MiB photo chunk over a
    /// slow link.
    pub request_timeout_seconds: u64,
    /// The log's merge delay: the longest a committed record's leaf and feed entries
    /// wait for the sequencer (milliseconds, 50 to 1 000; `jobs::sequencer`).
    pub merge_delay_ms: u64,
    /// Mark the web console's cookies `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// A font with Chinese glyphs for PDFs (`.ttf`, `.otf`, or `.ttc` with an optional
    /// `#index`); empty means the first of the usual Debian paths that exists.
    pub cjk_font: String,
    /// Seconds between ticks of the background jobs (run audits, escalation, the
    /// notification outbox); 0 turns the timer off (tests drive `jobs::run_due`).
    pub jobs_interval_seconds: u64,
    /// SMTP server for e-mail notifications as `host[:port]`; empty turns e-mail off.
    pub smtp_server: String,
    /// How the connection to it is protected: `starttls` (the default; port 587
    /// unless given), `tls` (implicit TLS; port 465) or `none` (plain; port 25, and a
    /// password only to this machine). Certificates are checked against the webpki
    /// roots and `smtp_ca_file`.
    pub smtp_tls: String,
    /// A PEM file of one more certificate authority to trust for the SMTP server (a
    /// company's own CA); empty for none.
    pub smtp_ca_file: String,
    pub smtp_from: String,
    pub smtp_user: String,
    /// Never shown in `Debug` output or by the API.
    pub smtp_password: String,
    /// Where photos live: empty for `<data_dir>/objects` on the local disk, or
    /// `s3://bucket[/prefix]` for any S3-compatible store (MinIO, Ceph, OSS, AWS),
    /// configured by the usual `AWS_*` variables (`AWS_ENDPOINT_URL`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ALLOW_HTTP`).
    pub object_store_url: String,
    /// The transparency log's signing key file (Ed25519 seeds, one per line); empty
    /// means `<data_dir>/log-key`. Never in the database (docs/operations.md, "Keys").
    pub log_key_file: std::path::PathBuf,
    /// The address people reach the web console at, as in a link
    /// (`https://patrol.example.com`, no trailing path needed). Channel messages about a
    /// notice link to `<public_url>/notices/<id>`. Empty means `http://<listen>`, which
    /// only works on the machine itself: set it in production.
    pub public_url: String,
    /// The witnesses checkpoints are submitted to (c2sp.org/tlog-witness): entries
    /// `URL VERIFIER-KEY` separated by `;` (docs/audit.md, "Witnesses").
    pub witnesses: String,
    /// How many of them must have cosigned a checkpoint for `audit verify`, archives
    /// and check-code to accept it; `None` means all of them, when there are any.
    pub witness_quorum: Option<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: String::new(),
            data_dir: PathBuf::from("patrol-data"),
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            access_token_seconds: 15 * 60,
            refresh_token_seconds: 30 * 24 * 3600,
            login_failures_per_account: 5,
            login_failures_per_address: 30,
            trust_forwarded_for: false,
            forwarded_proxies: 0,
            // A push of 500 records may carry 4 MiB; other bodies are much smaller.
            max_body_bytes: 5 * 1024 * 1024,
            database_pool_size: 8,
            database_acquire_timeout_seconds: 30,
            request_timeout_seconds: 120,
            merge_delay_ms: 1_000,
            database_idle_timeout_seconds: 600,
            secure_cookies: false,
            cjk_font: String::new(),
            jobs_interval_seconds: 15,
            smtp_server: String::new(),
            smtp_tls: "starttls".into(),
            smtp_ca_file: String::new(),
            smtp_from: "patrol@localhost".into(),
            smtp_user: String::new(),
            smtp_password: String::new(),
            object_store_url: String::new(),
            log_key_file: std::path::PathBuf::new(),
            public_url: String::new(),
            witnesses: String::new(),
            witness_quorum: None,
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field("data_dir", &self.data_dir)
            .field("log_key_file", &self.log_key_file)
            .field("listen", &self.listen)
            .field("access_token_seconds", &self.access_token_seconds)
            .field("refresh_token_seconds", &self.refresh_token_seconds)
            .field("database_pool_size", &self.database_pool_size)
            .field("database_acquire_timeout_seconds", &self.database_acquire_timeout_seconds)
            .field("request_timeout_seconds", &self.request_timeout_seconds)
            .field("merge_delay_ms", &self.merge_delay_ms)
            .field("database_idle_timeout_seconds", &self.database_idle_timeout_seconds)
            .field("secure_cookies", &self.secure_cookies)
            .field("cjk_font", &self.cjk_font)
            .field("jobs_interval_seconds", &self.jobs_interval_seconds)
            .field("smtp_server", &self.smtp_server)
            .field("smtp_tls", &self.smtp_tls)
            .field("smtp_ca_file", &self.smtp_ca_file)
            .field("smtp_from", &self.smtp_from)
            .field("smtp_user", &self.smtp_user)
            .field("smtp_password", &if self.smtp_password.is_empty() { "" } else { "***" })
            .field("public_url", &self.public_url)
            .field("witnesses", &self.witnesses)
            .field("witness_quorum", &self.witness_quorum)
            .finish_non_exhaustive()
    }
}

pub use crate::store::redact_url;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("settings file {0} is not valid: {1}")]
    Parse(PathBuf, toml::de::Error),
    #[error("environment variable {0} is not valid: {1}")]
    Env(&'static str, String),
}

impl Settings {
    /// Proxies in front of the server whose `X-Forwarded-For` entries are believed.
    pub fn trusted_proxies(&self) -> usize {
        if self.forwarded_proxies > 0 { self.forwarded_proxies.min(16) } else { usize::from(self.trust_forwarded_for) }
    }

    /// Defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
        let mut s = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| SettingsError::Read(path.into(), e))?;
                toml::from_str(&text).map_err(|e| SettingsError::Parse(path.into(), e))?
            }
            None => Settings::default(),
        };
        s.apply_env(|k| std::env::var(k).ok())?;
        s.check_public_url()?;
        s.check_database_pool()?;
        if !matches!(s.smtp_tls.as_str(), "starttls" | "tls" | "none") {
            return Err(SettingsError::Env(
                "PATROL_SMTP_TLS",
                format!("{:?} is not starttls, tls or none", s.smtp_tls),
            ));
        }
        Ok(s)
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), SettingsError> {
        fn parse<T: std::str::FromStr>(name: &'static str, v: String) -> Result<T, SettingsError>
        where
            T::Err: std::fmt::Display,
        {
            v.parse().map_err(|e: T::Err| SettingsError::Env(name, e.to_string()))
        }
        if let Some(v) = get("PATROL_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = get("PATROL_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("PATROL_LISTEN") {
            self.listen = parse("PATROL_LISTEN", v)?;
        }
        if let Some(v) = get("PATROL_ACCESS_TOKEN_SECONDS") {
            self.access_token_seconds = parse("PATROL_ACCESS_TOKEN_SECONDS", v)?;
        }
        if let Some(v) = get("PATROL_REFRESH_TOKEN_SECONDS") {
            self.refresh_token_seconds = parse("PATROL_REFRESH_TOKEN_SECONDS", v)?;
        }
        if let Some(v) = get("PATROL_FORWARDED_PROXIES") {
            self.forwarded_proxies = parse("PATROL_FORWARDED_PROXIES", v)?;
        }
        if let Some(v) = get("PATROL_TRUST_FORWARDED_FOR") {
            self.trust_forwarded_for = parse("PATROL_TRUST_FORWARDED_FOR", v)?;
        }
        if let Some(v) = get("PATROL_DATABASE_POOL_SIZE") {
            self.database_pool_size = parse("PATROL_DATABASE_POOL_SIZE", v)?;
        }
        if let Some(v) = get("PATROL_DATABASE_ACQUIRE_TIMEOUT_SECONDS") {
            self.database_acquire_timeout_seconds = parse("PATROL_DATABASE_ACQUIRE_TIMEOUT_SECONDS", v)?;
        }
        if let Some(v) = get("PATROL_DATABASE_IDLE_TIMEOUT_SECONDS") {
            self.database_idle_timeout_seconds = parse("PATROL_DATABASE_IDLE_TIMEOUT_SECONDS", v)?;
        }
        if let Some(v) = get("PATROL_REQUEST_TIMEOUT_SECONDS") {
            self.request_timeout_seconds = parse("PATROL_REQUEST_TIMEOUT_SECONDS", v)?;
        }
        if let Some(v) = get("PATROL_MERGE_DELAY_MS") {
            self.merge_delay_ms = parse("PATROL_MERGE_DELAY_MS", v)?;
        }
        if let Some(v) = get("PATROL_SECURE_COOKIES") {
            self.secure_cookies = parse("PATROL_SECURE_COOKIES", v)?;
        }
        if let Some(v) = get("PATROL_LOG_KEY_FILE") {
            self.log_key_file = v.into();
        }
        if let Some(v) = get("PATROL_OBJECT_STORE_URL") {
            self.object_store_url = v;
        }
        if let Some(v) = get("PATROL_CJK_FONT") {
            self.cjk_font = v;
        }
        if let Some(v) = get("PATROL_JOBS_INTERVAL_SECONDS") {
            self.jobs_interval_seconds = parse("PATROL_JOBS_INTERVAL_SECONDS", v)?;
        }
        if let Some(v) = get("PATROL_SMTP_SERVER") {
            self.smtp_server = v;
        }
        if let Some(v) = get("PATROL_SMTP_TLS") {
            self.smtp_tls = v;
        }
        if let Some(v) = get("PATROL_SMTP_CA_FILE") {
            self.smtp_ca_file = v;
        }
        if let Some(v) = get("PATROL_SMTP_FROM") {
            self.smtp_from = v;
        }
        if let Some(v) = get("PATROL_SMTP_USER") {
            self.smtp_user = v;
        }
        if let Some(v) = get("PATROL_SMTP_PASSWORD") {
            self.smtp_password = v;
        }
        if let Some(v) = get("PATROL_PUBLIC_URL") {
            self.public_url = v;
        }
        if let Some(v) = get("PATROL_WITNESSES") {
            self.witnesses = v;
        }
        if let Some(v) = get("PATROL_WITNESS_QUORUM") {
            self.witness_quorum = Some(parse("PATROL_WITNESS_QUORUM", v)?);
        }
        self.witness_policy().map_err(|e| SettingsError::Env("PATROL_WITNESSES", e))?;
        Ok(())
    }

    /// The pool's size and timeouts within their bounds: a pool of 0 connections or a
    /// wait of 0 seconds would refuse every request, and a huge one hides a leak.
    fn check_database_pool(&self) -> Result<(), SettingsError> {
        let bad = |name: &'static str, v: u64, lo: u64, hi: u64| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(SettingsError::Env(name, format!("{v} is outside {lo} to {hi}")))
            }
        };
        bad("PATROL_DATABASE_POOL_SIZE", self.database_pool_size as u64, 1, 1000)?;
        bad("PATROL_DATABASE_ACQUIRE_TIMEOUT_SECONDS", self.database_acquire_timeout_seconds, 1, 600)?;
        bad("PATROL_DATABASE_IDLE_TIMEOUT_SECONDS", self.database_idle_timeout_seconds, 10, 86_400)?;
        bad("PATROL_REQUEST_TIMEOUT_SECONDS", self.request_timeout_seconds, 1, 3_600)?;
        bad("PATROL_MERGE_DELAY_MS", self.merge_delay_ms, 50, 1_000)
    }

    /// The database pool's settings.
    pub fn database_pool(&self) -> crate::store::PoolSettings {
        crate::store::PoolSettings {
            max_connections: self.database_pool_size as u32,
            acquire_timeout: std::time::Duration::from_secs(self.database_acquire_timeout_seconds),
            idle_timeout: std::time::Duration::from_secs(self.database_idle_timeout_seconds),
        }
    }

    /// A public URL must be an absolute `http(s)://host[:port][/prefix]` with nothing
    /// after the path: a link built on anything else would not open.
    fn check_public_url(&self) -> Result<(), SettingsError> {
        let u = self.public_url.trim();
        if u.is_empty() {
            return Ok(());
        }
        let rest = u.strip_prefix("https://").or_else(|| u.strip_prefix("http://"));
        let host = rest.map(|r| r.split('/').next().unwrap_or(""));
        let ok = matches!(host, Some(h) if !h.is_empty() && !h.contains('@'))
            && !u.contains(['?', '#', ' '])
            && !u.chars().any(char::is_control);
        if ok {
            Ok(())
        } else {
            Err(SettingsError::Env("PATROL_PUBLIC_URL", format!("not an http(s) base URL: {u:?}")))
        }
    }

    /// The console's base URL without a trailing slash: `public_url`, or
    /// `http://<listen>` when it is not set.
    pub fn public_base_url(&self) -> String {
        let u = self.public_url.trim();
        if u.is_empty() { format!("http://{}", self.listen) } else { u.trim_end_matches('/').to_string() }
    }

    /// The console page of a notice, the link its channel messages carry.
    pub fn notice_url(&self, notice_id: patrol_protocol::Id) -> String {
        format!("{}/notices/{notice_id}", self.public_base_url())
    }

    /// The database URL, defaulting to a SQLite file in the data directory.
    /// Where the log's signing key is kept.
    /// The witnesses to submit to and the policy checkpoints are held to.
    pub fn witness_policy(
        &self,
    ) -> Result<(Vec<crate::audit::witnessed::WitnessEndpoint>, crate::audit::cosign::Policy), String> {
        let endpoints = crate::audit::witnessed::parse_witnesses(&self.witnesses)?;
        let keys: Vec<String> = endpoints.iter().map(|w| w.key.render()).collect();
        let policy = crate::audit::cosign::Policy::new(&keys, self.witness_quorum)?;
        Ok((endpoints, policy))
    }

    pub fn effective_log_key_file(&self) -> std::path::PathBuf {
        if self.log_key_file.as_os_str().is_empty() { self.data_dir.join("log-key") } else { self.log_key_file.clone() }
    }

    pub fn effective_database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite:{}", self.data_dir.join("patrol.db").display())
        } else {
            self.database_url.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_file_and_defaults() {
        let mut s = Settings::default();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.effective_database_url(), "sqlite:patrol-data/patrol.db");
        s.apply_env(|k| match k {
            "PATROL_LISTEN" => Some("0.0.0.0:9000".into()),
            "PATROL_DATABASE_URL" => Some("postgres://u:secret@db/patrol".into()),
            "PATROL_SMTP_PASSWORD" => Some("mailsecret".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert!(!format!("{s:?}").contains("secret"), "{s:?}");
        assert_eq!(s.smtp_password, "mailsecret");
        let bad = s.apply_env(|k| (k == "PATROL_LISTEN").then(|| "nonsense".into()));
        assert!(matches!(bad, Err(SettingsError::Env("PATROL_LISTEN", _))));
    }

    /// The pool's size and timeouts are taken within their bounds and refused outside
    /// them, each at its edges, naming the variable; the defaults are inside.
    #[test]
    fn database_pool_settings_are_bounded() {
        let cases: [(&str, u64, u64); 4] = [
            ("PATROL_DATABASE_POOL_SIZE", 1, 1000),
            ("PATROL_DATABASE_ACQUIRE_TIMEOUT_SECONDS", 1, 600),
            ("PATROL_DATABASE_IDLE_TIMEOUT_SECONDS", 10, 86_400),
            ("PATROL_REQUEST_TIMEOUT_SECONDS", 1, 3_600),
        ];
        assert!(Settings::default().check_database_pool().is_ok());
        for (name, lo, hi) in cases {
            for (v, ok) in [(lo - 1, false), (lo, true), (hi, true), (hi + 1, false)] {
                let mut s = Settings::default();
                s.apply_env(|k| (k == name).then(|| v.to_string())).unwrap();
                match s.check_database_pool() {
                    Ok(()) => assert!(ok, "{name}={v} was taken"),
                    Err(SettingsError::Env(n, _)) => assert!(!ok && n == name, "{name}={v}: refused as {n}"),
                    Err(e) => panic!("{name}={v}: {e}"),
                }
            }
        }
        let mut s = Settings::default();
        s.apply_env(|k| match k {
            "PATROL_DATABASE_POOL_SIZE" => Some("12".into()),
            "PATROL_DATABASE_ACQUIRE_TIMEOUT_SECONDS" => Some("5".into()),
            _ => None,
        })
        .unwrap();
        let pool = s.database_pool();
        assert_eq!((pool.max_connections, pool.acquire_timeout.as_secs(), pool.idle_timeout.as_secs()), (12, 5, 600));
        let bad = s.apply_env(|k| (k == "PATROL_DATABASE_POOL_SIZE").then(|| "-1".into()));
        assert!(matches!(bad, Err(SettingsError::Env("PATROL_DATABASE_POOL_SIZE", _))));
    }

    #[test]
    fn the_public_url_makes_notice_links_and_refuses_what_is_not_a_base_url() {
        let mut s = Settings::default();
        let id: patrol_protocol::Id = "0191d2c4-5b6e-7f00-8a00-000000000001".parse().unwrap();
        assert_eq!(s.notice_url(id), format!("http://127.0.0.1:8080/notices/{id}"));
        s.apply_env(|k| (k == "PATROL_PUBLIC_URL").then(|| "https://patrol.example.com/".into())).unwrap();
        assert!(s.check_public_url().is_ok());
        assert_eq!(s.notice_url(id), format!("https://patrol.example.com/notices/{id}"));
        for bad in ["patrol.example.com", "ftp://x", "https://", "https://a@b", "https://x/?a=1", "https://x/#f"] {
            s.public_url = bad.into();
            assert!(matches!(s.check_public_url(), Err(SettingsError::Env("PATROL_PUBLIC_URL", _))), "{bad}");
        }
    }

    #[test]
    fn a_settings_file_with_an_unknown_key_is_refused() {
        let dir = std::env::temp_dir().join(format!("patrol-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("patrol.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9999\"\n").unwrap();
        assert_eq!(Settings::load(Some(&path)).unwrap().listen.port(), 9999);
        std::fs::write(&path, "lisen = \"127.0.0.1:9999\"\n").unwrap();
        assert!(matches!(Settings::load(Some(&path)), Err(SettingsError::Parse(..))));
    }
}

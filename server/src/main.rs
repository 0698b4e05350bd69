//! `patrol-server`: serve, migrate, add users, or run the demo.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use patrol_protocol::{DepartmentKind, Id, Organisation, Person, Role, RoleAssignment};
use patrol_server::auth::password;
use patrol_server::clock::{Clock, SystemClock};
use patrol_server::settings::Settings;
use patrol_server::store::{Store, people, reference};
use patrol_server::{AppState, demo, router};

#[derive(Parser)]
#[command(name = "patrol-server", version, about = "Patrol server / 巡检服务端")]
struct Cli {
    /// Settings file (TOML); `PATROL_*` environment variables override it.
    #[arg(long, global = true, env = "PATROL_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI 3.1 document the server serves at /api/v1/openapi.json.
    Openapi,
    /// Manage people.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Load the demo organisation into an empty database with a month of patrols,
    /// notices and signed logs behind it, print its logins, and serve.
    Demo {
        /// Only the organisation and its logins: no runs, no notices.
        #[arg(long)]
        empty: bool,
    },
    /// Audit the transparency log and the records (docs/audit.md).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Re-read the whole database and object store; exit status 2 on any finding.
    Verify,
    /// Make a new log key, appended to the key file (PATROL_LOG_KEY_FILE); heads are
    /// signed with it from now on, older public keys stay for verification.
    RotateLogKey,
    /// Observe a server's log as a witness; exit status 2 on an alarm (fork, rewrite).
    Witness {
        /// The server, e.g. https://patrol.example.com
        #[arg(long)]
        url: String,
        /// Where the pinned key and every head seen are kept.
        #[arg(long)]
        state_dir: PathBuf,
    },
    /// Serve as a cosigning witness (c2sp.org/tlog-witness, `POST /add-checkpoint`) of
    /// the logs whose note verifier keys are given; prints the witness's own key.
    WitnessServe {
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// Where the witness key and every checkpoint cosigned are kept.
        #[arg(long)]
        state_dir: PathBuf,
        /// The witness's name, e.g. witness.example.org/owners-committee
        #[arg(long)]
        name: String,
        /// A log's note verifier key (GET /api/v1/audit/checkpoint-key); repeat for more logs.
        #[arg(long = "log-key", required = true)]
        log_keys: Vec<String>,
    },
    /// Compare what two or more witnesses cosigned; exit status 2 on a split view.
    Compare {
        /// A witness's state directory; give two or more.
        #[arg(long = "state-dir", required = true)]
        state_dirs: Vec<PathBuf>,
        /// The log, asked for a consistency proof between the witnesses' newest checkpoints.
        #[arg(long)]
        url: Option<String>,
    },
    /// Monitor a server's log: read every new leaf, recompute the tree, re-check device
    /// chains and notice numbers, re-prove a few older leaves; exit status 2 on an alarm.
    Monitor {
        /// The server, e.g. https://patrol.example.com
        #[arg(long)]
        url: String,
        /// Where the pinned key and the monitor's O(log n) state are kept.
        #[arg(long)]
        state_dir: PathBuf,
        /// Re-read the whole log from its first leaf.
        #[arg(long)]
        full: bool,
        /// Older leaves re-proven at random on each run.
        #[arg(long, default_value_t = 16)]
        recheck: usize,
        /// Alarm when the log has not grown for this many hours.
        #[arg(long, default_value_t = 26)]
        stale_hours: u64,
    },
    /// Write a site's monthly archive (JSON Lines) with proofs against a signed head.
    Archive {
        /// Site code, e.g. JY.
        #[arg(long)]
        site: String,
        /// YYYY-MM, in the site's time.
        #[arg(long)]
        month: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Check an archive file without a server or database; exit status 2 if it fails.
    VerifyArchive {
        file: PathBuf,
        /// The log key (hex) a witness pinned; without it the archive is checked against itself.
        #[arg(long)]
        public_key: Option<String>,
        /// A witness's verifier key the archive's checkpoint must be cosigned by; repeat
        /// for several (with --quorum: how many of them).
        #[arg(long = "witness")]
        witnesses: Vec<String>,
        #[arg(long)]
        quorum: Option<usize>,
    },
    /// Check a printed notice's number and verification code against the log.
    CheckCode {
        #[arg(long)]
        number: String,
        #[arg(long)]
        code: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a person (the first administrator, typically). Prints a generated password
    /// unless `--password-stdin` is given.
    Add {
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
        /// administrator, org_supervisor, site_supervisor, department_head, department_staff or patrol_staff
        #[arg(long, default_value = "administrator")]
        role: String,
        /// Site code, for site roles.
        #[arg(long)]
        site: Option<String>,
        /// Department kind (e.g. engineering), for department heads.
        #[arg(long)]
        department: Option<String>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        /// Name of the organisation to create if the database has none.
        #[arg(long, default_value = "物业服务中心")]
        org_name: String,
    },
}

/// glibc's malloc raises its mmap threshold to the size of every large block freed
/// (up to 32 MiB), so after the first large buffer (a 4 MiB push, a photo, a
/// thumbnail's decode) later ones are carved from per-thread arenas and stay resident
/// after they are freed: under 200 callers the server grew past a gigabyte and did
/// not shrink (docs/benchmarks.md, "Resources under load"). A fixed threshold keeps
/// blocks of 1 MiB and more in their own mappings, returned to the system on free.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_large_blocks_out_of_the_arenas() {
    // SAFETY: mallopt only changes malloc's tuning; called once before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
    // Free memory inside the arenas (the many small blocks of a burst of requests) is
    // kept by malloc until something asks for it back; every 10 s it is given back.
    std::thread::Builder::new()
        .name("malloc-trim".into())
        .stack_size(64 * 1024)
        .spawn(|| {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(10));
                // SAFETY: malloc_trim is thread-safe; it only returns free pages.
                unsafe {
                    libc::malloc_trim(0);
                }
            }
        })
        .expect("start the malloc-trim thread");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_large_blocks_out_of_the_arenas() {}

fn main() {
    keep_large_blocks_out_of_the_arenas();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let settings = Settings::load(cli.config.as_deref()).map_err(|e| e.to_string())?;
    let open =
        |s: &Settings| Store::open_with(&s.effective_database_url(), &s.database_pool()).map_err(|e| e.to_string());
    match cli.command {
        Command::Migrate => {
            let ran = open(&settings)?.migrate_blocking().map_err(|e| e.to_string())?;
            println!("{ran} migration(s) applied");
            Ok(())
        }
        Command::Openapi => {
            println!("{:#}", patrol_server::app::openapi_document());
            Ok(())
        }
        Command::Serve => serve(open(&settings)?, settings, None),
        Command::Demo { empty } => {
            let store = open(&settings)?;
            store.migrate_blocking().map_err(|e| e.to_string())?;
            let now = SystemClock.now_ms();
            let logins = if empty {
                demo::ensure_demo(&store, &settings.data_dir, now)?
            } else {
                let (logins, history) = demo::ensure_demo_with_history(&store, &settings, now)?;
                if let Some(h) = history {
                    tracing::info!("demo history: {h}");
                }
                logins
            };
            serve(store, settings, Some(logins))
        }
        Command::Audit { command } => audit(command, &settings, open),
        Command::User {
            command: UserCommand::Add { login, name, role, site, department, password_stdin, org_name },
        } => {
            let store = open(&settings)?;
            store.migrate_blocking().map_err(|e| e.to_string())?;
            let (pw, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).map_err(|e| e.to_string())?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (password::generate(), true)
            };
            if pw.chars().count() < password::MIN_LEN {
                return Err("the password needs at least 8 characters".into());
            }
            let hash = password::hash(&pw);
            let now = SystemClock.now_ms();
            store
                .tx_blocking(true, |c| {
                    let org = match reference::first_organisation(c)? {
                        Some(o) => o,
                        None => {
                            let o = Organisation { id: Id::now_v7(), name: org_name.clone() };
                            reference::insert_organisation(c, &o, now)?;
                            o
                        }
                    };
                    let site_id = match &site {
                        Some(code) => Some(
                            reference::list_sites(c, org.id)?
                                .into_iter()
                                .find(|s| &s.code == code)
                                .ok_or_else(|| {
                                    patrol_server::store::DbError::Data(format!("no site with code {code}"))
                                })?
                                .id,
                        ),
                        None => None,
                    };
                    let need_site = || patrol_server::store::DbError::Data(format!("role {role} needs --site"));
                    let role = match role.as_str() {
                        "administrator" => Role::Administrator,
                        "org_supervisor" => Role::OrgSupervisor,
                        "site_supervisor" => Role::SiteSupervisor { site_id: site_id.ok_or_else(need_site)? },
                        "patrol_staff" => Role::PatrolStaff { site_id: site_id.ok_or_else(need_site)? },
                        "department_head" | "department_staff" => {
                            let site_id = site_id.ok_or_else(need_site)?;
                            let kind = department.as_deref().and_then(DepartmentKind::parse).ok_or_else(|| {
                                patrol_server::store::DbError::Data("department_head needs --department KIND".into())
                            })?;
                            let dept = reference::list_departments(c, site_id)?
                                .into_iter()
                                .find(|d| d.kind == kind)
                                .ok_or_else(|| {
                                    patrol_server::store::DbError::Data("no such department at that site".into())
                                })?;
                            if role == "department_head" {
                                Role::DepartmentHead { site_id, department_id: dept.id }
                            } else {
                                Role::DepartmentStaff { site_id, department_id: dept.id }
                            }
                        }
                        other => {
                            return Err(patrol_server::store::DbError::Data(format!("unknown role {other}")));
                        }
                    };
                    let person = Person {
                        id: Id::now_v7(),
                        org_id: org.id,
                        login: login.clone(),
                        display_name: name.clone(),
                        active: true,
                    };
                    people::insert_person(c, &person, &hash, now)?;
                    people::insert_role(c, &RoleAssignment { person_id: person.id, role }, now)
                })
                .map_err(|e| e.to_string())?;
            if generated {
                println!("added {login}; password: {pw}");
            } else {
                println!("added {login}");
            }
            Ok(())
        }
    }
}

/// Prints a finding to stderr and exits 2: findings and alarms are not failures to run.
fn alarm(message: String) -> ! {
    eprintln!("{message}");
    std::process::exit(2)
}

fn audit(
    command: AuditCommand,
    settings: &Settings,
    open: impl Fn(&Settings) -> Result<Store, String>,
) -> Result<(), String> {
    use patrol_server::audit::{archive, verify, witness, witness_server};
    let command = match command {
        AuditCommand::WitnessServe { listen, state_dir, name, log_keys } => {
            let w = witness_server::Witness::open(&state_dir, &name, &log_keys)?;
            println!("{}", w.verifier_key());
            let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            return runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("{listen}: {e}"))?;
                eprintln!("witness {name} on http://{listen}/add-checkpoint / 见证服务已启动");
                axum::serve(listener, witness_server::router(std::sync::Arc::new(w))).await.map_err(|e| e.to_string())
            });
        }
        AuditCommand::Monitor { url, state_dir, full, recheck, stale_hours } => {
            use patrol_server::audit::monitor;
            let options = monitor::Options {
                full,
                recheck,
                stale_after: std::time::Duration::from_secs(stale_hours * 3600),
                now_ms: SystemClock.now_ms(),
            };
            return match monitor::run(&url, &state_dir, &options)? {
                monitor::Verdict::Sound { from, to } => {
                    println!("OK: leaves {from} to {to} read and checked / 日志条目已核对");
                    Ok(())
                }
                monitor::Verdict::Alarm(whys) => alarm(format!("ALARM / 警报:\n  {}", whys.join("\n  "))),
            };
        }
        AuditCommand::Compare { state_dirs, url } => {
            if state_dirs.len() < 2 {
                return Err("give two or more --state-dir".into());
            }
            let states = state_dirs.iter().map(|d| witness_server::seen_in(d)).collect::<Result<Vec<_>, _>>()?;
            let consistency = |first: u64, second: u64| -> Result<Vec<patrol_protocol::transparency::Hash>, String> {
                let url = url.as_deref().ok_or("give --url to ask the log for a proof")?;
                witness::fetch_consistency(url, first, second)
            };
            return match witness_server::compare(&states, &consistency) {
                witness_server::Comparison::Consistent { checkpoints } => {
                    println!("OK: {checkpoints} checkpoints, one history / 各见证方所见一致");
                    Ok(())
                }
                witness_server::Comparison::SplitView(why) => alarm(format!("SPLIT VIEW / 日志分叉: {why}")),
                witness_server::Comparison::Unproven(why) => Err(format!("cannot tell / 无法判断: {why}")),
            };
        }
        other => other,
    };
    let (_, policy) = settings.witness_policy()?;
    let key_file = settings.effective_log_key_file();
    patrol_cases::audit::log::hold_key_file(&key_file)?;
    match command {
        AuditCommand::RotateLogKey => {
            let store = open(settings)?;
            store.migrate_blocking().map_err(|e| e.to_string())?;
            let now = SystemClock.now_ms();
            let id = store
                .tx_blocking(true, |c| {
                    patrol_cases::audit::log::ensure_key(c, &key_file, now)?;
                    patrol_cases::audit::log::add_key(c, &key_file, now)
                })
                .map_err(|e| e.to_string())?;
            println!(
                "new log key {id} in {}; copy the file to every instance / 新日志密钥已写入，请复制到每个实例",
                key_file.display()
            );
            Ok(())
        }
        AuditCommand::Verify => {
            let store = open(settings)?;
            store.migrate_blocking().map_err(|e| e.to_string())?;
            let photos = patrol_server::photos::open_store(&settings)?;
            let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            let report = runtime.block_on(verify::verify_with(&store, &photos, &policy)).map_err(|e| e.to_string())?;
            print!("{}", report.render());
            if !report.ok() {
                alarm("audit verify: findings above / 发现问题，见上".into());
            }
            Ok(())
        }
        AuditCommand::Witness { url, state_dir } => match witness::observe(&url, &state_dir)? {
            witness::Verdict::Consistent { from, to } => {
                println!("OK: the log grew from {from} to {to} leaves consistently / 日志一致");
                Ok(())
            }
            witness::Verdict::Alarm(why) => alarm(format!("ALARM / 警报: {why}")),
        },
        AuditCommand::Archive { site, month, out } => {
            let store = open(settings)?;
            store.migrate_blocking().map_err(|e| e.to_string())?;
            let now = SystemClock.now_ms();
            store
                .tx_blocking(true, |c| patrol_cases::audit::log::ensure_key(c, &key_file, now))
                .map_err(|e| e.to_string())?;
            let tmp = out.with_extension("partial");
            let mut file =
                std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?);
            let n = archive::write_archive(&store, &site, &month, SystemClock.now_ms(), &policy, &mut file)?;
            std::io::Write::flush(&mut file).map_err(|e| e.to_string())?;
            drop(file);
            std::fs::rename(&tmp, &out).map_err(|e| e.to_string())?;
            println!("{n} entries written to {}", out.display());
            Ok(())
        }
        AuditCommand::VerifyArchive { file, public_key, witnesses, quorum } => {
            let policy = patrol_server::audit::cosign::Policy::new(&witnesses, quorum)?;
            let f = std::fs::File::open(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let report = archive::verify_archive(&mut std::io::BufReader::new(f), public_key.as_deref(), &policy)
                .unwrap_or_else(|e| alarm(format!("FAILED / 核验失败: {e}")));
            print!("{}", report.render());
            if !report.ok() {
                alarm("verify-archive: the archive does not verify / 归档核验失败".into());
            }
            Ok(())
        }
        AuditCommand::CheckCode { number, code } => {
            let store = open(settings)?;
            let checked = store
                .tx_blocking(false, |c| patrol_server::audit::api::check_code(c, &number, &code, &policy))
                .map_err(|e| e.to_string())?
                .ok_or("a verification code looks like 17-42-3fa9c01b")?;
            println!("{} / {}", checked.reason, checked.reason_zh);
            if !checked.valid {
                alarm("the code does not check out".into());
            }
            Ok(())
        }
        AuditCommand::WitnessServe { .. } | AuditCommand::Compare { .. } | AuditCommand::Monitor { .. } => {
            unreachable!("handled above")
        }
    }
}

fn serve(store: Store, settings: Settings, demo_logins: Option<Vec<demo::DemoLogin>>) -> Result<(), String> {
    let listen = settings.listen;
    tracing::info!(?settings, database = store.kind(), "starting");
    let state = AppState::new(store, settings, Arc::new(SystemClock))?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("Patrol is listening on http://{addr}/");
        if let Some(logins) = demo_logins {
            demo::print_logins(&logins, addr);
        }
        // Reminders, escalations, missed patrols and the notification outbox.
        let _jobs = patrol_server::jobs::spawn(state.clone());
        // The log's and the feed's order (within the merge delay of a commit).
        state.sequencer.start(&state);
        let drain = state.clone();
        tokio::spawn(patrol_server::audit::sign_heads_periodically(state.clone(), std::time::Duration::from_secs(60)));
        let served = axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| e.to_string());
        // What the last requests committed is integrated before the process ends.
        if let Err(e) = drain.caught_up().await {
            tracing::error!(error = %e, "pending log leaves could not be integrated at shutdown");
        }
        served
    })
}

//! `patrol-field`: walk a patrol from a terminal through `PatrolCore`, the same object
//! and calls the apps use; for people trying the core out and for scripted tests.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use patrol_core::notices::{NoticeDraft, NoticeView};
use patrol_core::patrols::CheckInMethod;
use patrol_core::photos::{PhotoInput, PhotoSource};
use patrol_core::{CoreConfig, PatrolCore, PatrolError, SignedInPerson};
use patrol_protocol::notice::{NoticeAction, Severity};
use patrol_protocol::reason::Reason;
use patrol_protocol::record::{ItemOutcome, PhotoContext, TrackPoint};
use patrol_protocol::{Id, Role};

#[derive(Parser)]
#[command(name = "patrol-field", about = "Walk a patrol offline from a terminal (巡检终端客户端)")]
struct Cli {
    /// The data directory (the app's private directory on a phone).
    #[arg(long, env = "PATROL_DATA", default_value = "patrol-data")]
    data: String,
    /// A CJK font for the photo watermark, e.g. /usr/share/fonts/truetype/wqy/wqy-microhei.ttc.
    #[arg(long, env = "PATROL_FONT")]
    font: Option<String>,
    /// The store's key as 64 hex digits (an app keeps its key in the Keystore /
    /// Keychain); without it the store is plain. A plain store opened with a key is
    /// encrypted with it.
    #[arg(long, env = "PATROL_STORE_KEY", hide_env_values = true)]
    store_key: Option<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Set the person records are made by (login arrives with the sync).
    SignIn {
        #[arg(long)]
        person: Id,
        #[arg(long)]
        name: String,
        /// Patrol staff at this site (repeatable).
        #[arg(long)]
        patrol_site: Vec<Id>,
        /// Department head, as SITE:DEPARTMENT (repeatable).
        #[arg(long, value_parser = parse_pair)]
        head: Vec<(Id, Id)>,
        /// Supervisor of this site (repeatable).
        #[arg(long)]
        supervisor: Vec<Id>,
    },
    /// Load reference data: a JSON object with arrays sites, departments, checkpoints,
    /// routes, schedules, people in the server's shapes.
    Load {
        bundle: String,
    },
    /// Routes and their checkpoints.
    Routes,
    /// Today's expected runs.
    Plan,
    Start {
        route: Id,
    },
    CheckIn {
        run: Id,
        checkpoint: Id,
        #[arg(long, group = "how")]
        qr: Option<String>,
        #[arg(long, group = "how")]
        nfc: Option<String>,
        /// LAT,LON,ACCURACY_M
        #[arg(long, group = "how", value_parser = parse_gps)]
        gps: Option<(f64, f64, f64)>,
        #[arg(long, group = "how")]
        manual: Option<String>,
    },
    Item {
        run: Id,
        checkpoint: Id,
        item: Id,
        outcome: Outcome,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Append track points from a CSV file: time_ms,latitude,longitude,accuracy_m per line.
    Track {
        run: Id,
        csv: String,
    },
    Photo {
        file: String,
        #[arg(long)]
        run: Option<Id>,
        #[arg(long)]
        checkpoint: Option<Id>,
        #[arg(long)]
        notice: Option<Id>,
        #[arg(long)]
        site: Option<Id>,
        #[arg(long, requires = "lon", allow_hyphen_values = true)]
        lat: Option<f64>,
        #[arg(long, requires = "lat", allow_hyphen_values = true)]
        lon: Option<f64>,
    },
    Finish {
        run: Id,
        #[arg(long)]
        missed_reason: Option<String>,
    },
    Runs,
    Run {
        run: Id,
    },
    Notices,
    NoticeCreate {
        #[arg(long)]
        site: Id,
        #[arg(long)]
        department: Id,
        #[arg(long)]
        checkpoint: Option<Id>,
        #[arg(long, default_value = "")]
        location: String,
        #[arg(long)]
        run: Option<Id>,
        #[arg(long)]
        description: String,
        #[arg(long)]
        serious: bool,
        #[arg(long, default_value_t = 24)]
        due_hours: i64,
        #[arg(long)]
        photo: Vec<String>,
    },
    NoticeAct {
        notice: Id,
        action: Act,
        #[arg(long, default_value = "")]
        reason: String,
        #[arg(long)]
        photo: Vec<String>,
        #[arg(long)]
        reassign_to: Option<Id>,
    },
    /// What waits for the server, and a check of the whole record chain.
    Queue,
}

#[derive(Clone, Copy, ValueEnum)]
enum Outcome {
    Ok,
    Problem,
    Na,
}

#[derive(Clone, Copy, ValueEnum)]
enum Act {
    Acknowledge,
    Dispute,
    ReportFix,
    VerifyPass,
    VerifyFail,
    Reassign,
    Void,
    CorrectiveAction,
}

fn parse_pair(s: &str) -> Result<(Id, Id), String> {
    let (a, b) = s.split_once(':').ok_or("SITE:DEPARTMENT")?;
    Ok((a.parse().map_err(|e| format!("{e}"))?, b.parse().map_err(|e| format!("{e}"))?))
}

fn parse_gps(s: &str) -> Result<(f64, f64, f64), String> {
    let v: Vec<f64> =
        s.split(',').map(|p| p.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    match v[..] {
        [a, b, c] => Ok((a, b, c)),
        _ => Err("LAT,LON,ACCURACY_M".into()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match &e {
                PatrolError::InvalidInput { field, reason, reason_zh } => {
                    eprintln!("refused ({field}): {reason_zh}\n                 {reason}")
                }
                PatrolError::Conflict { reason, reason_zh } => eprintln!("refused: {reason_zh}\n         {reason}"),
                PatrolError::WrongKey { detail, detail_zh } => eprintln!("refused: {detail_zh}\n         {detail}"),
                other => eprintln!("error: {other}"),
            }
            ExitCode::FAILURE
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

fn print_notice(n: &NoticeView) {
    let number = n.number.clone().unwrap_or_else(|| "编号待定 (number pending)".into());
    println!("{}  {number}  [{}] {} → {}", n.notice_id, n.state_zh, n.site_name_zh, n.department_name_zh);
    println!("    {}  due {}{}", n.description, time(n.due_ms), if n.overdue { "  OVERDUE 已逾期" } else { "" });
    println!("    photos {}  actions {}  queued {}", n.photos.len(), n.actions.len(), n.queued);
    if !n.allowed_actions.is_empty() {
        println!("    you may: {:?}", n.allowed_actions);
    }
}

fn run(cli: Cli) -> Result<(), PatrolError> {
    let store_key = match cli.store_key.as_deref().map(hex::decode).transpose() {
        Ok(key) => key,
        Err(_) => {
            let why = Reason::StoreKeyHex;
            return Err(PatrolError::InvalidInput { field: "store_key".into(), reason: why.en(), reason_zh: why.zh() });
        }
    };
    let core = PatrolCore::open(CoreConfig { font_path: cli.font, store_key, ..CoreConfig::new(cli.data) })?;
    match cli.command {
        Cmd::SignIn { person, name, patrol_site, head, supervisor } => {
            let mut roles: Vec<Role> = patrol_site.into_iter().map(|site_id| Role::PatrolStaff { site_id }).collect();
            roles.extend(
                head.into_iter().map(|(site_id, department_id)| Role::DepartmentHead { site_id, department_id }),
            );
            roles.extend(supervisor.into_iter().map(|site_id| Role::SiteSupervisor { site_id }));
            core.sign_in_locally(SignedInPerson {
                person_id: person,
                display_name: name,
                roles,
                must_change_password: false,
            })?;
            println!("signed in on device {}", core.device_id());
        }
        Cmd::Load { bundle } => {
            let json = std::fs::read_to_string(&bundle).map_err(|e| PatrolError::InvalidInput {
                field: "bundle".into(),
                reason: format!("{bundle}: {e}"),
                reason_zh: "无法读取文件".into(),
            })?;
            println!("{:?}", core.load_reference_json(json)?);
        }
        Cmd::Routes => {
            for site in core.sites()? {
                println!("{} {} ({})", site.id, site.name_zh, site.code);
                for route in core.routes(site.id)? {
                    println!("  route {} {}", route.id, route.name_zh);
                    for (i, cp) in core.route_checkpoints(route.id)?.iter().enumerate() {
                        println!("    {:>2}. {} {} {}", i + 1, cp.id, cp.code, cp.name_zh);
                        for item in &cp.checklist {
                            println!("          item {} {}", item.id, item.text_zh);
                        }
                    }
                }
            }
        }
        Cmd::Plan => {
            for p in core.today_plan()? {
                println!(
                    "{} {} {}–{} #{} {:?} {}",
                    p.local_date,
                    p.route_name_zh,
                    time(p.window_start_ms),
                    time(p.window_end_ms),
                    p.slot,
                    p.status,
                    p.run_id.map(|r| r.to_string()).unwrap_or_default()
                );
            }
        }
        Cmd::Start { route } => {
            let d = core.start_run(route)?;
            println!("run {} started on {} ({} checkpoints)", d.run_id, d.route_name_zh, d.checkpoints.len());
        }
        Cmd::CheckIn { run, checkpoint, qr, nfc, gps, manual } => {
            let method = match (qr, nfc, gps, manual) {
                (Some(payload), ..) => CheckInMethod::Qr { payload },
                (_, Some(tag_id), ..) => CheckInMethod::Nfc { tag_id },
                (_, _, Some((latitude, longitude, accuracy_m)), _) => {
                    CheckInMethod::Gps { latitude, longitude, accuracy_m }
                }
                (_, _, _, Some(reason)) => CheckInMethod::Manual { reason },
                _ => {
                    return Err(PatrolError::InvalidInput {
                        field: "method".into(),
                        reason: "give --qr, --nfc, --gps or --manual".into(),
                        reason_zh: "请指定打卡方式".into(),
                    });
                }
            };
            let v = core.check_in(run, checkpoint, method)?;
            println!(
                "checked in by {}{}{}",
                v.method,
                v.distance_m.map(|d| format!(" at {d:.1} m")).unwrap_or_default(),
                if v.out_of_order { " (out of route order 未按顺序)" } else { "" }
            );
        }
        Cmd::Item { run, checkpoint, item, outcome, note } => {
            let outcome = match outcome {
                Outcome::Ok => ItemOutcome::Ok,
                Outcome::Problem => ItemOutcome::Problem,
                Outcome::Na => ItemOutcome::NotApplicable,
            };
            core.record_item(run, checkpoint, item, outcome, note)?;
            println!("recorded");
        }
        Cmd::Track { run, csv } => {
            let text = std::fs::read_to_string(&csv).map_err(|e| PatrolError::InvalidInput {
                field: "csv".into(),
                reason: format!("{csv}: {e}"),
                reason_zh: "无法读取文件".into(),
            })?;
            let mut points = vec![];
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let v: Vec<&str> = line.split(',').map(str::trim).collect();
                let bad = || PatrolError::InvalidInput {
                    field: "csv".into(),
                    reason: format!("not time_ms,lat,lon,acc: {line}"),
                    reason_zh: "轨迹文件格式不正确".into(),
                };
                let [t, la, lo, acc] = v[..] else { return Err(bad()) };
                points.push(TrackPoint {
                    time_ms: t.parse().map_err(|_| bad())?,
                    latitude: la.parse().map_err(|_| bad())?,
                    longitude: lo.parse().map_err(|_| bad())?,
                    accuracy_m: acc.parse().map_err(|_| bad())?,
                });
            }
            let mut total = 0;
            for batch in points.chunks(5000) {
                total = core.append_track_points(run, batch.to_vec())?;
            }
            println!("{total} track points in the run");
        }
        Cmd::Photo { file, run, checkpoint, notice, site, lat, lon } => {
            let p = core.add_photo(PhotoInput {
                source: PhotoSource::File { path: file },
                context: PhotoContext { run_id: run, checkpoint_id: checkpoint, notice_id: notice },
                site_id: site,
                captured_at_ms: None,
                latitude: lat,
                longitude: lon,
            })?;
            println!("{}  {}×{}  {} bytes  {}", p.sha256, p.width, p.height, p.bytes, p.path);
        }
        Cmd::Finish { run, missed_reason } => {
            let s = core.finish_run(run, missed_reason)?;
            println!(
                "finished: visited {}/{}, missed {}, out of order {}, problems {}, {} min",
                s.visited,
                s.total,
                s.missed.len(),
                s.out_of_order,
                s.problems,
                s.duration_ms / 60_000
            );
            for m in s.missed {
                println!("  missed {} {}", m.code, m.name_zh);
            }
        }
        Cmd::Runs => {
            for r in core.list_runs(100)? {
                let state = if r.finished_ms.is_some() { "finished" } else { "in progress" };
                println!("{} {} {} {}/{} {state}", r.run_id, time(r.started_ms), r.route_name_zh, r.visited, r.total);
            }
        }
        Cmd::Run { run } => {
            let d = core.run_detail(run)?;
            println!("{} {} started {}", d.run_id, d.route_name_zh, time(d.started_ms));
            for c in &d.checkpoints {
                let visit = c.visit.as_ref().map_or("—".to_string(), |v| {
                    format!("{} {}{}", v.method, time(v.time_ms), if v.out_of_order { " out of order" } else { "" })
                });
                println!("  {:>2}. {} {}  {visit}", c.position, c.checkpoint.code, c.checkpoint.name_zh);
                for i in c.items.iter().filter(|i| i.outcome.is_some()) {
                    println!("        {} {:?} {}", i.text_zh, i.outcome.unwrap(), i.note);
                }
            }
            println!("  track points {}  photos {}", d.track_points, d.photos.len());
            if let Some(reason) = d.summary.missed_reason {
                println!("  missed reason: {reason}");
            }
        }
        Cmd::Notices => {
            for n in core.list_notices(100)? {
                print_notice(&n);
            }
        }
        Cmd::NoticeCreate { site, department, checkpoint, location, run, description, serious, due_hours, photo } => {
            let n = core.create_notice(NoticeDraft {
                site_id: site,
                department_id: department,
                checkpoint_id: checkpoint,
                location,
                run_id: run,
                description,
                severity: if serious { Severity::Serious } else { Severity::General },
                due_ms: now_ms() + due_hours.clamp(1, 24 * 365) * 3_600_000,
                photos: photo,
            })?;
            print_notice(&n);
        }
        Cmd::NoticeAct { notice, action, reason, photo, reassign_to } => {
            let action = match action {
                Act::Acknowledge => NoticeAction::Acknowledge,
                Act::Dispute => NoticeAction::Dispute,
                Act::ReportFix => NoticeAction::ReportFix,
                Act::VerifyPass => NoticeAction::VerifyPass,
                Act::VerifyFail => NoticeAction::VerifyFail,
                Act::Reassign => NoticeAction::Reassign,
                Act::Void => NoticeAction::Void,
                Act::CorrectiveAction => NoticeAction::CorrectiveAction,
            };
            print_notice(&core.act_on_notice(notice, action, reason, photo, reassign_to)?);
        }
        Cmd::Queue => {
            let q = core.queue_status()?;
            println!(
                "queued records {} (seq {}, acknowledged {}), photos {} ({} bytes)",
                q.queued_records, q.last_seq, q.acked_seq, q.queued_photos, q.queued_photo_bytes
            );
            println!("chain verified: {} records", core.verify_log()?);
        }
    }
    Ok(())
}

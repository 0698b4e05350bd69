//! Request counters and latency sums in Prometheus text format. Per instance, by
//! design: Prometheus scrapes each instance and adds them up.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), (u64, f64)>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, path: &str, status: u16, elapsed: Duration) {
        // Label values come from fixed sets only (a method a client makes up is
        // "other", an unrouted path "unmatched"), so no caller can grow the series.
        let method = match method {
            "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS" => method,
            _ => "other",
        };
        let mut m = self.requests.lock().expect("metrics lock");
        let e = m.entry((method.to_string(), path.to_string(), status)).or_default();
        e.0 += 1;
        e.1 += elapsed.as_secs_f64();
    }

    pub fn render(&self, database_kind: &str) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP patrol_http_requests_total HTTP requests answered.\n# TYPE patrol_http_requests_total counter\n",
        );
        let m = self.requests.lock().expect("metrics lock");
        for ((method, path, status), (count, _)) in m.iter() {
            let _ = writeln!(
                out,
                "patrol_http_requests_total{{method=\"{method}\",path=\"{path}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str("# HELP patrol_http_request_seconds_sum Time spent answering.\n# TYPE patrol_http_request_seconds_sum counter\n");
        for ((method, path, status), (_, secs)) in m.iter() {
            let _ = writeln!(
                out,
                "patrol_http_request_seconds_sum{{method=\"{method}\",path=\"{path}\",status=\"{status}\"}} {secs:.6}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP patrol_thumbnails_made_total Photos decoded to make a thumbnail.\n# TYPE patrol_thumbnails_made_total counter\npatrol_thumbnails_made_total {}",
            crate::photos::THUMBNAILS_MADE.load(std::sync::atomic::Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# TYPE patrol_build_info gauge\npatrol_build_info{{version=\"{}\",database=\"{database_kind}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        out
    }
}

//! Prometheus metrics: requests by route and status, a latency histogram, queue depth.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use muster_core::incident::ChannelKind;
use muster_store::cases::IntakeOutcome;

const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What one route has seen: counts by status and its latency.
#[derive(Debug, Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    latency: Histogram,
}

#[derive(Debug, Default)]
pub struct Metrics {
    /// By route pattern; looked up by `&str`, so a known route costs no allocation.
    routes: Mutex<BTreeMap<String, RouteStats>>,
    queue_depth: AtomicI64,
    intake: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl Metrics {
    pub fn observe(&self, route: &str, status: u16, seconds: f64) {
        let Ok(mut routes) = self.routes.lock() else {
            return;
        };
        if !routes.contains_key(route) {
            routes.insert(route.to_owned(), RouteStats::default());
        }
        let Some(stats) = routes.get_mut(route) else {
            return;
        };
        *stats.by_status.entry(status).or_default() += 1;
        let histogram = &mut stats.latency;
        for (slot, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *slot += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    /// Counts an inbound contact by channel and outcome (created, joined, replayed).
    pub fn count_intake(&self, channel: ChannelKind, outcome: IntakeOutcome) {
        let outcome = match outcome {
            IntakeOutcome::Created => "created",
            IntakeOutcome::Joined => "joined",
            IntakeOutcome::Replayed => "replayed",
        };
        if let Ok(mut intake) = self.intake.lock() {
            *intake.entry((channel.as_str(), outcome)).or_default() += 1;
        }
    }

    pub fn set_queue_depth(&self, depth: i64) {
        self.queue_depth.store(depth, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP muster_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE muster_http_requests_total counter\n");
        let routes = match self.routes.lock() {
            Ok(routes) => routes,
            Err(poisoned) => poisoned.into_inner(),
        };
        for (route, stats) in routes.iter() {
            for (status, count) in &stats.by_status {
                let _ = writeln!(
                    out,
                    "muster_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
                );
            }
        }
        out.push_str("# HELP muster_http_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE muster_http_request_duration_seconds histogram\n");
        for (route, RouteStats { latency: h, .. }) in routes.iter() {
            for (bound, count) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "muster_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "muster_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "muster_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "muster_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        drop(routes);
        out.push_str("# HELP muster_intake_total Inbound contacts by channel and outcome; joined = a duplicate case avoided.\n");
        out.push_str("# TYPE muster_intake_total counter\n");
        if let Ok(intake) = self.intake.lock() {
            for ((channel, outcome), count) in intake.iter() {
                let _ = writeln!(
                    out,
                    "muster_intake_total{{channel=\"{channel}\",outcome=\"{outcome}\"}} {count}"
                );
            }
        }
        out.push_str("# HELP muster_queue_depth Open cases waiting in the queue.\n");
        out.push_str("# TYPE muster_queue_depth gauge\n");
        let _ = writeln!(
            out,
            "muster_queue_depth {}",
            self.queue_depth.load(Ordering::Relaxed)
        );
        out
    }
}

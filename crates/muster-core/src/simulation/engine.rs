//! The discrete-event loop: cases arrive, are ranked by the real priority rules, are told the
//! real estimator's range, wait in the queue, and are answered by agents coming and going.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::{Duration, OffsetDateTime};

use super::queue::{Departure, OpenQueue, QueueKey, RecentArrivals};
use super::report::{CaseOutcome, Report};
use super::sampling::{exponential, lognormal_with_mean, weighted_index};
use super::scenario::Scenario;
use crate::priority::Tier;
use crate::queue_profile::QueueProfile;
use crate::wait_estimator::{
    Estimate, NewCase, QueueSnapshot, RateWindow, StaffGroup, Staffing, estimate,
};

/// Runs `scenario` to the end: until every case is answered, or no agent is left to answer.
/// The same scenario and seed always give the same report.
pub fn run(scenario: &Scenario, seed: u64) -> Report {
    let mut crisis = Crisis::new(scenario, seed);
    crisis.run();
    Report {
        scenario: scenario.name.clone(),
        seed,
        request_types: scenario
            .request_types
            .iter()
            .map(|t| t.name.clone())
            .collect(),
        // The backlog was submitted before the start, and told nothing: it is not scored.
        cases: crisis
            .cases
            .into_iter()
            .filter(|case| case.submitted_minute >= 0.0)
            .collect(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventKind {
    Arrival,
    ShiftStarts { agent: usize },
    ShiftEnds { agent: usize },
    Answered { agent: usize, case: usize },
}

#[derive(Debug, Clone, Copy)]
struct Event {
    minute: f64,
    /// Scheduling order breaks ties, so equal times replay identically.
    sequence: u64,
    kind: EventKind,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Event {
    /// Reversed: `BinaryHeap` pops the greatest, and the earliest event must come first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .minute
            .total_cmp(&self.minute)
            .then(other.sequence.cmp(&self.sequence))
    }
}

#[derive(Debug, Clone, Copy)]
struct Agent {
    handle_time_factor: f64,
    on_shift: bool,
    busy: bool,
}

/// A case in flight: when it arrived and when an agent took it.
#[derive(Debug, Clone, Copy)]
struct Timing {
    submitted: f64,
    taken: Option<f64>,
}

struct Crisis<'a> {
    scenario: &'a Scenario,
    rng: StdRng,
    now: f64,
    events: BinaryHeap<Event>,
    next_sequence: u64,
    agents: Vec<Agent>,
    queue: OpenQueue,
    recent_arrivals: RecentArrivals,
    answers: RateWindow,
    cases: Vec<CaseOutcome>,
    timings: Vec<Timing>,
}

impl<'a> Crisis<'a> {
    fn new(scenario: &'a Scenario, seed: u64) -> Self {
        let settings = scenario.estimator.window_settings();
        let mut crisis = Self {
            scenario,
            rng: StdRng::seed_from_u64(seed),
            now: 0.0,
            events: BinaryHeap::new(),
            next_sequence: 0,
            agents: Vec::new(),
            queue: OpenQueue::default(),
            recent_arrivals: RecentArrivals::new(settings.window.as_seconds_f64() / 60.0),
            answers: RateWindow::new(settings, scenario.start),
            cases: Vec::new(),
            timings: Vec::new(),
        };
        for group in &scenario.agents {
            for _ in 0..group.count {
                let agent = crisis.agents.len();
                crisis.agents.push(Agent {
                    handle_time_factor: group.handle_time_factor,
                    on_shift: false,
                    busy: false,
                });
                crisis.schedule(group.from_minute, EventKind::ShiftStarts { agent });
                if let Some(until) = group.until_minute {
                    crisis.schedule(until, EventKind::ShiftEnds { agent });
                }
            }
        }
        crisis.submit_backlog();
        crisis.schedule_next_arrival();
        crisis
    }

    fn schedule(&mut self, minute: f64, kind: EventKind) {
        self.events.push(Event {
            minute,
            sequence: self.next_sequence,
            kind,
        });
        self.next_sequence += 1;
    }

    fn instant(&self, minute: f64) -> OffsetDateTime {
        self.scenario.start + Duration::seconds_f64(minute * 60.0)
    }

    fn run(&mut self) {
        while let Some(event) = self.events.pop() {
            self.now = event.minute;
            match event.kind {
                EventKind::Arrival => {
                    self.arrive(true);
                    self.schedule_next_arrival();
                }
                EventKind::ShiftStarts { agent } => self.agents[agent].on_shift = true,
                EventKind::ShiftEnds { agent } => self.agents[agent].on_shift = false,
                EventKind::Answered { agent, case } => self.answer(agent, case),
            }
            self.dispatch();
        }
    }

    /// Draws the next arrival from the time-varying rate by thinning: candidates come at the
    /// peak rate and each is kept with probability (rate now / peak rate).
    fn schedule_next_arrival(&mut self) {
        let peak = self.scenario.peak_arrivals_per_minute();
        if peak <= 0.0 {
            return;
        }
        let mut minute = self.now;
        loop {
            minute += exponential(&mut self.rng, peak);
            if minute >= self.scenario.arrival_minutes {
                return;
            }
            if self.rng.random::<f64>() * peak < self.scenario.arrivals_per_minute(minute) {
                self.schedule(minute, EventKind::Arrival);
                return;
            }
        }
    }

    /// Puts the backlog in the queue as if it had arrived evenly before the start.
    fn submit_backlog(&mut self) {
        let Some(backlog) = self.scenario.backlog else {
            return;
        };
        for i in 0..backlog.cases {
            self.now =
                -backlog.over_minutes * f64::from(backlog.cases - i) / f64::from(backlog.cases);
            self.arrive(false);
        }
        self.now = 0.0;
    }

    fn arrive(&mut self, told: bool) {
        let today = self.instant(self.now).date();
        let departure = self.draw_departure(today);
        let priority = self
            .scenario
            .priority_windows
            .priority(departure.date(), today);
        let request_type = weighted_index(
            &mut self.rng,
            self.scenario.request_types.iter().map(|t| t.share),
        );
        let case = self.cases.len();
        let key = QueueKey {
            departure,
            arrival: case as u64,
        };
        let new_case = NewCase {
            tier: priority.tier,
            request_type: Some(&self.scenario.request_types[request_type].name),
        };
        let snapshot = QueueSnapshot {
            ahead: self.queue.ahead_of(key),
            overtaking: self.recent_arrivals.overtaking(self.now, departure),
            staffing: Some(self.staffing()),
        };
        let told = told
            .then(|| {
                if self.scenario.estimator.tier_figure {
                    self.tier_figure(priority.tier, today)
                } else {
                    estimate(
                        new_case,
                        &snapshot,
                        &self.answers,
                        self.instant(self.now),
                        self.scenario.posted_wait,
                        None,
                    )
                }
            })
            .flatten();
        self.cases.push(CaseOutcome {
            submitted_minute: self.now,
            tier: priority.tier,
            needs_date: priority.needs_date,
            days_to_departure: priority.days_to_departure,
            request_type,
            queue_ahead: snapshot.ahead_of(priority.tier),
            estimate: told,
            realised_minutes: None,
        });
        self.timings.push(Timing {
            submitted: self.now,
            taken: None,
        });
        self.recent_arrivals.record(self.now, departure);
        self.answers.record_arrival(self.instant(self.now));
        self.queue.push(key, case, priority.tier);
    }

    /// The figure `muster-web` posts for a whole tier: the queue counted by departure date,
    /// the agents on duty (none: unknown) and no announced changes.
    fn tier_figure(&self, tier: Tier, today: time::Date) -> Option<Estimate> {
        let on_duty = self.staffing().on_duty;
        let profile = QueueProfile::new(
            today,
            self.scenario.priority_windows,
            self.queue.by_departure(),
            self.recent_arrivals.by_departure(self.now),
        );
        profile.tier_estimate(
            tier,
            &self.answers,
            (on_duty > 0).then(|| Staffing {
                on_duty,
                planned: Vec::new(),
            }),
            self.instant(self.now),
            self.scenario.posted_wait,
        )
    }

    /// Agents on shift now, and the shift starts and ends the desk already knows about.
    fn staffing(&self) -> Staffing {
        let on_duty = self.agents.iter().filter(|a| a.on_shift).count() as u32;
        let known: Vec<StaffGroup> = self
            .scenario
            .agents
            .iter()
            .filter(|group| {
                group
                    .announced_minutes_before
                    .is_none_or(|before| self.now >= group.from_minute - before)
            })
            .map(|group| StaffGroup {
                agents: group.count,
                from: Some(self.instant(group.from_minute)),
                until: group.until_minute.map(|until| self.instant(until)),
            })
            .collect();
        Staffing::planned(on_duty, &known, self.instant(self.now))
    }

    fn draw_departure(&mut self, today: time::Date) -> Departure {
        let departures = &self.scenario.departures;
        let shares =
            std::iter::once(departures.unknown).chain(departures.buckets.iter().map(|b| b.share));
        match weighted_index(&mut self.rng, shares) {
            0 => Departure::Unknown,
            i => {
                let [first, last] = departures.buckets[i - 1].days;
                let days = self.rng.random_range(first..=last);
                Departure::On(today + Duration::days(days))
            }
        }
    }

    /// Idle agents on shift take the next cases in queue order.
    fn dispatch(&mut self) {
        while let Some(agent) = self.agents.iter().position(|a| a.on_shift && !a.busy) {
            let Some(case) = self.queue.pop_next() else {
                return;
            };
            let mean = self.scenario.request_types[self.cases[case].request_type].handle_minutes
                * self.agents[agent].handle_time_factor;
            let handling =
                lognormal_with_mean(&mut self.rng, mean, self.scenario.handle_time_sigma);
            self.agents[agent].busy = true;
            self.timings[case].taken = Some(self.now);
            self.schedule(self.now + handling, EventKind::Answered { agent, case });
        }
    }

    fn answer(&mut self, agent: usize, case: usize) {
        self.agents[agent].busy = false;
        let timing = self.timings[case];
        let handling = self.now - timing.taken.unwrap_or(self.now);
        let request_type = &self.scenario.request_types[self.cases[case].request_type].name;
        self.answers.record(
            self.instant(self.now),
            Duration::seconds_f64(handling * 60.0),
            Some(request_type),
        );
        self.cases[case].realised_minutes = Some(self.now - timing.submitted);
    }
}

//! The discrete-event loop: cases arrive, are ranked by the real priority rules, are told
//! what `muster-web` would tell them, wait in the queue, and are answered by agents coming
//! and going.
//!
//! The estimate sees only what production sees: a [`WaitSnapshot`] rebuilt on production's
//! refresh interval from the queue counted by departure (overdue cases apart), the answers
//! and arrivals of the last windows, the agents seen at work in the last 20 minutes (not the
//! rota) and the staffing plan as the manager has announced it so far.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::{Duration, OffsetDateTime};

use super::queue::{Departure, OpenQueue, QueueKey, RecentArrivals};
use super::report::{CaseOutcome, Report};
use super::sampling::{exponential, lognormal_with_mean, weighted_index};
use super::scenario::Scenario;
use crate::on_duty::{SeenAgents, staffing_seen};
use crate::priority::Tier;
use crate::queue_profile::QueueProfile;
use crate::wait_estimator::{Estimate, RateWindow, Source, StaffGroup};
use crate::wait_snapshot::{WaitSnapshot, count_arrivals};

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
    ShiftStarts {
        agent: usize,
    },
    ShiftEnds {
        agent: usize,
    },
    Answered {
        agent: usize,
        case: usize,
    },
    /// The posted waits are computed again and the SLA scan runs.
    Refresh,
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

#[derive(Debug, Clone)]
struct Agent {
    handle_time_factor: f64,
    /// The teams whose cases they take (the queue's team numbers).
    teams: Vec<usize>,
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
    /// Each request type's team (index into the queue's teams).
    team_of_type: Vec<usize>,
    recent_arrivals: RecentArrivals,
    answers: RateWindow,
    seen: SeenAgents,
    /// What customers are told until the next refresh; `None` before the first.
    snapshot: Option<WaitSnapshot>,
    cases: Vec<CaseOutcome>,
    timings: Vec<Timing>,
}

impl<'a> Crisis<'a> {
    fn new(scenario: &'a Scenario, seed: u64) -> Self {
        let settings = scenario.estimator.window_settings();
        // Team 0 is "no team"; then each team named by a request type, in order.
        let mut teams: Vec<Option<&str>> = vec![None];
        for team in scenario.request_types.iter().map(|t| t.team.as_deref()) {
            if !teams.contains(&team) {
                teams.push(team);
            }
        }
        let team_index = |team: Option<&str>| teams.iter().position(|t| *t == team).unwrap_or(0);
        let team_of_type = scenario
            .request_types
            .iter()
            .map(|t| team_index(t.team.as_deref()))
            .collect();
        let mut crisis = Self {
            scenario,
            rng: StdRng::seed_from_u64(seed),
            now: 0.0,
            events: BinaryHeap::new(),
            next_sequence: 0,
            agents: Vec::new(),
            queue: OpenQueue::new(scenario.priority_windows, teams.len()),
            team_of_type,
            recent_arrivals: RecentArrivals::new(settings.window.as_seconds_f64() / 60.0),
            answers: RateWindow::new(settings, scenario.start),
            seen: SeenAgents::default(),
            snapshot: None,
            cases: Vec::new(),
            timings: Vec::new(),
        };
        for group in &scenario.agents {
            // An agent with teams takes only those teams' cases; without, every case.
            let agent_teams: Vec<usize> = match &group.teams {
                Some(names) => (1..teams.len())
                    .filter(|i| teams[*i].is_some_and(|t| names.iter().any(|n| n == t)))
                    .collect(),
                None => (0..teams.len()).collect(),
            };
            for _ in 0..group.count - group.absent {
                let agent = crisis.agents.len();
                crisis.agents.push(Agent {
                    handle_time_factor: group.handle_time_factor,
                    teams: agent_teams.clone(),
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
        crisis.schedule(0.0, EventKind::Refresh);
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
                EventKind::Refresh => {
                    self.refresh();
                    // Refreshing stops with the crisis: when nothing else is left to happen.
                    if !self.events.is_empty() {
                        let every = self.scenario.estimator.refresh_seconds / 60.0;
                        self.schedule(self.now + every, EventKind::Refresh);
                    }
                }
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
        let queue_ahead = QueueProfile::new(
            today,
            self.scenario.priority_windows,
            self.queue.by_departure(),
            Vec::new(),
        )
        .snapshot_for(departure.date(), None)
        .ahead_of(priority.tier);
        let told = if told {
            self.told(departure, priority.tier, request_type)
        } else {
            None
        };
        self.cases.push(CaseOutcome {
            submitted_minute: self.now,
            tier: priority.tier,
            needs_date: priority.needs_date,
            days_to_departure: priority.days_to_departure,
            request_type,
            queue_ahead,
            estimate: told,
            realised_minutes: None,
        });
        self.timings.push(Timing {
            submitted: self.now,
            taken: None,
        });
        self.recent_arrivals.record(self.now, departure);
        let team = self.team_of_type[request_type];
        self.queue.push(key, case, team, self.now);
    }

    /// What a new case is told: the figure for its own place in the queue as of the last
    /// refresh (or its tier's figure, when that is what is scored), the manager's posted
    /// range before the first refresh.
    fn told(&self, departure: Departure, tier: Tier, request_type: usize) -> Option<Estimate> {
        let posted = self.scenario.posted_wait;
        let Some(snapshot) = &self.snapshot else {
            return posted.map(|range| Estimate::from_manager(range, Source::Posted));
        };
        if self.scenario.estimator.tier_figure {
            snapshot.for_tier(tier, posted, None)
        } else {
            let name = &self.scenario.request_types[request_type].name;
            snapshot.for_case(departure.date(), Some(name.as_str()), posted, None)
        }
    }

    /// What `muster-web`'s wait refresh does, and the SLA scan beside it: marks the cases
    /// now overdue, then builds the snapshot every case is told from until the next refresh.
    fn refresh(&mut self) {
        let now = self.instant(self.now);
        let today = now.date();
        self.queue.mark_overdue(self.now, today, self.scenario.sla);
        let mut answers = self.answers.clone();
        let arrivals = self
            .recent_arrivals
            .iter()
            .map(|(minute, departure)| (self.instant(minute), departure.date()));
        let arrived = count_arrivals(arrivals, now, &mut answers);
        let queue = QueueProfile::new(
            today,
            self.scenario.priority_windows,
            self.queue.by_departure(),
            arrived,
        );
        let staffing = staffing_seen(self.seen.on_duty(now), &self.staffing_plan(), now);
        self.snapshot = Some(WaitSnapshot::new(now, queue, answers, staffing));
    }

    /// The staffing plan as the manager has saved it by now: the rota, and each announced
    /// group from when it is announced. Unannounced staff are never in it, and a group is
    /// planned at full strength whoever stays away.
    fn staffing_plan(&self) -> Vec<StaffGroup> {
        self.scenario
            .agents
            .iter()
            .filter(|group| {
                !group.unannounced
                    && group
                        .announced_minutes_before
                        .is_none_or(|before| self.now >= group.from_minute - before)
            })
            .map(|group| StaffGroup {
                agents: group.count,
                from: Some(self.instant(group.from_minute)),
                until: group.until_minute.map(|until| self.instant(until)),
            })
            .collect()
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

    /// Idle agents on shift take the next cases of their teams in queue order.
    fn dispatch(&mut self) {
        let now = self.instant(self.now);
        let today = now.date();
        for agent in 0..self.agents.len() {
            if !self.agents[agent].on_shift || self.agents[agent].busy {
                continue;
            }
            let Some(case) = self.queue.pop_next(today, &self.agents[agent].teams) else {
                continue;
            };
            let mean = self.scenario.request_types[self.cases[case].request_type].handle_minutes
                * self.agents[agent].handle_time_factor;
            let handling =
                lognormal_with_mean(&mut self.rng, mean, self.scenario.handle_time_sigma);
            self.agents[agent].busy = true;
            self.seen.saw(agent as u64, now);
            self.timings[case].taken = Some(self.now);
            self.schedule(self.now + handling, EventKind::Answered { agent, case });
        }
    }

    fn answer(&mut self, agent: usize, case: usize) {
        self.agents[agent].busy = false;
        let now = self.instant(self.now);
        self.seen.saw(agent as u64, now);
        let timing = self.timings[case];
        let handling = self.now - timing.taken.unwrap_or(self.now);
        let request_type = &self.scenario.request_types[self.cases[case].request_type].name;
        self.answers.record(
            now,
            Duration::seconds_f64(handling * 60.0),
            Some(request_type),
        );
        self.cases[case].realised_minutes = Some(self.now - timing.submitted);
    }
}

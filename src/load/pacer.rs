//! The arrival pacer of the rate (open) model: one OS thread walks the arrival schedule and
//! hands each intended send time to the worker pool when it is due. Absolute schedule
//! (`origin + t_n`, as oha and wrk2 do), so lateness never accumulates; arrivals due within
//! the spin window are released together, which keeps tens of thousands per second cheap.
//! When every worker is busy arrivals wait in a bounded queue (and, once it is full, in the
//! schedule itself): the arrival is sent late and its latency, measured from the intended
//! time, carries the wait (wrk2's model; nothing is dropped).

use crate::shape::ArrivalSchedule;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One arrival: when the request should have been sent.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    pub intended: Instant,
}

/// Arrivals released by the pacer so far (the scheduled count).
#[derive(Debug, Default)]
pub struct PacerCounters {
    pub scheduled: AtomicU64,
    /// Arrivals due before the stop that the pacer could not hand over (pool saturated).
    pub unsent: AtomicU64,
}

/// Releases arrivals due within this window together instead of sleeping for each.
const BATCH_WINDOW: Duration = Duration::from_micros(50);
/// How long the pacer waits before topping up a full queue.
const SATURATED_BACKOFF: Duration = Duration::from_millis(1);
/// Tickets that may wait for a worker: enough that workers never run dry between two
/// top-ups of a saturated pacer, at tens of thousands of requests per second.
pub const MIN_QUEUE: usize = 1024;

/// Runs the pacer until the schedule ends or `stop` is set. Returns when done.
pub fn run_pacer(
    mut schedule: ArrivalSchedule,
    origin: Instant,
    seed: u64,
    tickets: flume::Sender<Ticket>,
    counters: Arc<PacerCounters>,
    stop: Arc<AtomicBool>,
) {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let mut uniform = move || rng.random::<f64>();
    while let Some(t) = schedule.next(&mut uniform) {
        let intended = origin + Duration::from_secs_f64(t);
        loop {
            if stop.load(Ordering::Relaxed) {
                count_unsent(t, &mut schedule, &mut uniform, origin, &counters);
                return;
            }
            let now = Instant::now();
            if intended <= now + BATCH_WINDOW {
                break;
            }
            // Sleep in short slices so a stop is seen quickly even at low rates.
            std::thread::sleep((intended - now).min(Duration::from_millis(50)));
        }
        counters.scheduled.fetch_add(1, Ordering::Relaxed);
        let mut ticket = Ticket { intended };
        loop {
            match tickets.try_send(ticket) {
                Ok(()) => break,
                Err(flume::TrySendError::Full(back)) => {
                    if stop.load(Ordering::Relaxed) {
                        counters.unsent.fetch_add(1, Ordering::Relaxed);
                        if let Some(next) = schedule.next(&mut uniform) {
                            count_unsent(next, &mut schedule, &mut uniform, origin, &counters);
                        }
                        return;
                    }
                    // Saturated: the workers have a full queue. Sleeping here instead of
                    // blocking in the channel means a worker taking a ticket never has to
                    // wake the pacer (two thread switches per request on a busy core).
                    ticket = back;
                    std::thread::sleep(SATURATED_BACKOFF);
                }
                Err(flume::TrySendError::Disconnected(_)) => return,
            }
        }
    }
}

/// At a stop, counts the arrivals that were already due (from `first` on, then the rest of the
/// schedule up to now) but never handed over, so a saturated pool shows up as `unsent`
/// instead of silently shrinking the scheduled count.
fn count_unsent(
    first: f64,
    schedule: &mut ArrivalSchedule,
    uniform: &mut dyn FnMut() -> f64,
    origin: Instant,
    counters: &PacerCounters,
) {
    let now = origin.elapsed().as_secs_f64();
    let mut t = first;
    while t < now {
        counters.scheduled.fetch_add(1, Ordering::Relaxed);
        counters.unsent.fetch_add(1, Ordering::Relaxed);
        match schedule.next(uniform) {
            Some(next) => t = next,
            None => break,
        }
    }
}

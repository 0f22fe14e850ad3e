//! `pkg/autoscaler/aggregation/bucketing_test.go` and `max/window_test.go`, translated.

use crate::policy::kpa::aggregation::{MaxWindow, TimedBuckets, smoothing_coefficient};

/// A whole second, as `time.Now().Truncate(time.Second)` gives.
const NOW: f64 = 1_700_000_000.0;

#[test]
fn test_timed_float64_buckets_window_average() {
    let now = NOW + 0.25;
    let mut b = TimedBuckets::linear(5);
    // firstWrite makes a single write average over one bucket, not five.
    b.record(now, 1.0);
    assert_eq!(b.window_average(now), 1.0);
    for i in 1..5 {
        b.record(now + i as f64, (i + 1) as f64);
    }
    assert_eq!(b.window_average(now + 4.0), 15.0 / 5.0);
    // `now` lagging behind the last write.
    assert_eq!(b.window_average(now + 3.6), 15.0 / 5.0);
    // A short hole.
    assert_eq!(b.window_average(now + 6.0), (15.0 - 1.0 - 2.0) / (5.0 - 2.0));
    // A long hole.
    assert_eq!(b.window_average(now + 10.0), 0.0);
    // A write after holes.
    b.record(now + 6.0, 91.0);
    assert_eq!(b.window_average(now + 6.0), (15.0 - 1.0 - 2.0 + 91.0) / 5.0);
    // Much later.
    let now = now + 60.0;
    b.record(now, 1984.0);
    assert_eq!(b.window_average(now), 1984.0);
    // An earlier time.
    b.record(now - 3.0, 4.0);
    assert_eq!(b.window_average(now), (4.0 + 1984.0) / 4.0);
    let now = now + 1.0;
    b.record(now, 5.0);
    assert_eq!(b.window_average(now), (4.0 + 1984.0 + 5.0) / 5.0);
    b.record(now - 3.0, 10.0);
    assert_eq!(b.window_average(now), (4.0 + 10.0 + 1984.0 + 5.0) / 5.0);
    // Too early: ignored.
    b.record(now - 6.0, 10.0);
    assert_eq!(b.window_average(now), (4.0 + 10.0 + 1984.0 + 5.0) / 5.0);
}

#[test]
fn test_descending_record() {
    let mut b = TimedBuckets::linear(5);
    for i in (0..=8).rev() {
        b.record(NOW + i as f64, 5.0);
    }
    assert_eq!(b.window_average(NOW + 5.0), 5.0);
}

#[test]
fn test_timed_float64_buckets_holes() {
    let mut b = TimedBuckets::linear(5);
    for i in 0..5 {
        b.record(NOW + i as f64, (i + 1) as f64);
    }
    assert_eq!(b.window_average(NOW + 4.0), 15.0 / 5.0);
    // Writing at +8 s zeroes the slots of +5..+8 (those of +0..+3): 5 and the new 2 remain.
    b.record(NOW + 8.0, 2.0);
    assert_eq!(b.window_average(NOW + 8.0), (5.0 + 2.0) / 5.0);
}

#[test]
fn test_timed_float64_buckets_many_reps() {
    // Several records in one second add up in that bucket.
    let mut b = TimedBuckets::linear(60);
    let mut t = NOW;
    for p in 0..5 {
        t += 1.0;
        for k in 0..5 {
            b.record(t, (p + k) as f64);
        }
    }
    assert_eq!(b.window_average(t), 100.0 / 5.0);
}

#[test]
fn test_round_to_n_digits() {
    let mut b = TimedBuckets::linear(3);
    b.record(NOW, 1.0);
    b.record(NOW + 1.0, 1.0);
    b.record(NOW + 2.0, 0.0);
    // 2/3 floored to 6 decimals, as upstream's roundToNDigits(6, ..).
    assert_eq!(b.window_average(NOW + 2.0), 0.666666);
}

#[test]
fn weighted_average_matches_the_upstream_doc_example() {
    // Data [10, 10, 5, 5] (newest last) with coefficient 0.6:
    // 5*0.6 + 5*0.6*0.4 + 10*0.6*0.4^2 + 10*0.6*0.4^3 = 5.544 (bucketing.go's comment).
    let mut b = TimedBuckets::weighted(4);
    for (i, v) in [10.0, 10.0, 5.0, 5.0].iter().enumerate() {
        b.record(NOW + i as f64, *v);
    }
    let coefficient = smoothing_coefficient(4.0);
    assert!((coefficient - 0.9).abs() < 1e-9, "{coefficient}");
    let want: f64 = [5.0, 5.0, 10.0, 10.0]
        .iter()
        .enumerate()
        .map(|(i, v)| v * coefficient * (1.0 - coefficient).powi(i as i32))
        .sum();
    assert!((b.window_average(NOW + 3.0) - want).abs() < 1e-12);
    // Seconds without data decay the weights; a whole window without data is empty.
    assert!(b.window_average(NOW + 5.0) < want);
    assert!(b.is_empty(NOW + 8.0));
    assert_eq!(b.window_average(NOW + 8.0), 0.0);
    // Long windows are floored at 0.2 so they do not degrade into a plain average.
    assert_eq!(smoothing_coefficient(3600.0), 0.2);
}

#[test]
fn test_window_max() {
    // max/window_test.go: the maximum over the last `size` indexes.
    let mut w = MaxWindow::new(4.0, 1);
    for (t, v, want) in [
        (0.0, 5.0, 5.0),
        (1.0, 3.0, 5.0),
        (2.0, 4.0, 5.0),
        (4.0, 1.0, 4.0),
        (5.0, 0.0, 4.0),
        (6.0, 0.0, 1.0),
        (8.0, 0.0, 0.0),
    ] {
        w.record(NOW + t, v);
        assert_eq!(w.current(), want, "t={t}");
    }
    // Two values in one bucket: the larger stays.
    let mut w = MaxWindow::new(10.0, 2);
    w.record(NOW, 3.0);
    w.record(NOW + 1.0, 1.0);
    assert_eq!(w.current(), 3.0);
}

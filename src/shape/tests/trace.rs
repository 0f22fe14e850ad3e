//! Trace files: built-ins, flags, format rules, errors with line and column, replay and scaling.

use super::*;

// ---------------------------------------------------------------- trace format

#[test]
fn trace_file_errors_name_line_and_column() {
    let d = TraceOptions::default();
    assert_eq!(trace_err("", &d), "x.csv:1:1: expected at least one value, found end of file");
    assert_eq!(
        trace_err("value\n\n\n", &d),
        "x.csv:1:1: expected at least one value, found end of file"
    );
    assert_eq!(trace_err("1\n2\nabc\n", &d), "x.csv:3:1: expected a number, found 'abc'");
    assert_eq!(
        trace_err("1\n2\nNaN\n", &d),
        "x.csv:3:1: expected a number (NaN is not a load), found 'NaN'"
    );
    assert_eq!(
        trace_err("1\r\n -2\r\n", &d),
        "x.csv:2:2: expected a non-negative number, found '-2'"
    );
    assert_eq!(trace_err("1\ninf\n", &d), "x.csv:2:1: expected a finite number, found 'inf'");
    assert_eq!(trace_err("1\n\n2\n", &d), "x.csv:2:1: expected a number, found ''");
    assert_eq!(
        trace_err("1\n2,3\n", &d),
        "x.csv:2:3: expected end of line after the value (the first row has one column), found '3'"
    );
    assert_eq!(trace_err("t,v\n0,1\n1,abc\n", &d), "x.csv:3:3: expected a number, found 'abc'");
    assert_eq!(
        trace_err("0,1\n5,2\n5,3\n", &d),
        "x.csv:3:1: expected a time greater than the previous row's (5), found '5'"
    );
    assert_eq!(trace_err("0,1\n7\n", &d), "x.csv:2:2: expected t,value, found '7'");
    assert_eq!(
        trace_err("0,1,2\n", &d),
        "x.csv:1:5: expected one value per line or t,value, found '0,1,2'"
    );
    let c = compat(50.0, 10.0, false);
    assert_eq!(
        trace_err("99\n", &c),
        "x.csv:2:1: expected a value after the header line (--locust-compat drops the first line), found end of file"
    );
    assert_eq!(
        trace_err("", &c),
        "x.csv:1:1: expected a value after the header line (--locust-compat drops the first line), found end of file"
    );
}

#[test]
fn header_detection() {
    let d = TraceOptions::default();
    let values = |s: &Shape| (0..3).map(|t| s.value_at(t as f64)).collect::<Vec<_>>();
    assert_eq!(values(&trace("value\n1\n2\n3\n", &d, None)), [1.0, 2.0, 3.0]);
    assert_eq!(values(&trace("1\n2\n3\n", &d, None)), [1.0, 2.0, 3.0]);
    // pandas quirk: the first line is a header even when it is a number.
    let c = TraceOptions {
        locust_compat: true,
        amplitude: Some(2.0),
        shift: Some(1.0),
        ..TraceOptions::default()
    };
    let s = trace("9\n1\n2\n3\n", &c, None);
    assert_eq!(values(&s), [1.0, 2.0, 3.0]);
    assert_eq!(s.natural_duration(), Some(3.0));
    // ... and blank lines are skipped anywhere, as pandas does.
    assert_eq!(values(&trace("\n9\n1\n\n2\n3\n", &c, None)), [1.0, 2.0, 3.0]);
}

#[test]
fn crlf_and_trailing_blank_lines() {
    let s = trace("\u{feff}5\r\n6\r\n7\r\n\r\n\r\n", &TraceOptions::default(), None);
    assert_eq!(s.natural_duration(), Some(3.0));
    assert_eq!(
        [s.value_at(0.0), s.value_at(1.0), s.value_at(2.0), s.value_at(3.0)],
        [5.0, 6.0, 7.0, 5.0]
    );
}

#[test]
fn loop_hold_and_fit() {
    let d = TraceOptions::default();
    let looped = trace("1\n2\n3\n", &d, None);
    assert_eq!(looped.value_at(2.99), 3.0);
    assert_eq!(looped.value_at(3.0), 1.0);
    assert_eq!(looped.value_at(4.5), 2.0);
    assert_eq!(looped.value_at(3e9 + 2.0), 3.0);
    assert_eq!(looped.describe(), "trace x.csv (3 rows, step 1s, looped)");
    let held = trace("1\n2\n3\n", &TraceOptions { no_loop: true, ..d.clone() }, None);
    assert_eq!(held.value_at(10.0), 3.0);
    assert_eq!(held.natural_duration(), Some(3.0));
    assert_eq!(held.describe(), "trace x.csv (3 rows, step 1s, held after the end)");
    let slow = trace("1\n2\n3\n", &TraceOptions { step: Some(2.0), ..d.clone() }, None);
    assert_eq!([slow.value_at(1.9), slow.value_at(2.0), slow.value_at(6.0)], [1.0, 2.0, 1.0]);
    assert_eq!(slow.natural_duration(), Some(6.0));
    let fit = trace("1\n2\n3\n", &TraceOptions { fit: true, ..d.clone() }, Some(30.0));
    assert_eq!(
        [
            fit.value_at(0.0),
            fit.value_at(9.99),
            fit.value_at(10.0),
            fit.value_at(29.9),
            fit.value_at(100.0)
        ],
        [1.0, 1.0, 2.0, 3.0, 3.0]
    );
    assert_eq!(fit.natural_duration(), Some(30.0));
    assert_eq!(fit.max_value(5.0), 1.0);
    assert_eq!(fit.describe(), "trace x.csv (3 rows, step 1s, fitted to 30s)");
}

#[test]
fn time_value_knots() {
    let d = TraceOptions::default();
    let s = trace("t,value\n0,5\n10,20\n", &d, None);
    assert_eq!(s.natural_duration(), Some(11.0));
    assert_eq!(
        [s.value_at(9.9), s.value_at(10.0), s.value_at(11.0), s.value_at(21.5)],
        [5.0, 20.0, 5.0, 20.0]
    );
    assert_eq!(s.max_value(5.0), 5.0);
    assert_eq!(s.max_value(10.0), 20.0);
    let late = trace("2,7\n4,9\n", &TraceOptions { no_loop: true, ..d.clone() }, None);
    assert_eq!([late.value_at(0.0), late.value_at(3.0), late.value_at(100.0)], [7.0, 7.0, 9.0]);
    let fit = trace("0,1\n1,2\n", &TraceOptions { fit: true, ..d }, Some(20.0));
    assert_eq!([fit.value_at(9.9), fit.value_at(10.0), fit.value_at(50.0)], [1.0, 2.0, 2.0]);
}

#[test]
fn scaling() {
    let text = "0\n5\n10\n";
    let values = |o: TraceOptions| {
        let s = trace(text, &o, None);
        (0..3).map(|t| s.value_at(t as f64)).collect::<Vec<_>>()
    };
    let d = TraceOptions::default();
    assert_eq!(
        values(TraceOptions { amplitude: Some(10.0), shift: Some(5.0), ..d.clone() }),
        [5.0, 10.0, 15.0]
    );
    assert_eq!(values(TraceOptions { amplitude: Some(3.0), ..d.clone() }), [0.0, 1.5, 3.0]);
    assert_eq!(values(TraceOptions { shift: Some(3.0), ..d.clone() }), [3.0, 8.0, 13.0]);
    // Negative results are clamped to 0, never returned.
    assert_eq!(values(TraceOptions { shift: Some(-6.0), ..d.clone() }), [0.0, 0.0, 4.0]);
    // locust-compat truncates A and S like int(float(x)) and the values like int().
    let c =
        TraceOptions { locust_compat: true, amplitude: Some(3.9), shift: Some(1.7), ..d.clone() };
    let s = trace("h\n0\n5\n10\n", &c, None);
    assert_eq!([s.value_at(0.0), s.value_at(1.0), s.value_at(2.0)], [1.0, 2.0, 4.0]);
    // Defaults in compat mode: amplitude 50, shift 10.
    let c = TraceOptions { locust_compat: true, ..d.clone() };
    let s = trace("h\n0\n10\n", &c, None);
    assert_eq!([s.value_at(0.0), s.value_at(1.0)], [10.0, 60.0]);
    // A flat trace scales to the shift instead of dividing by zero.
    let flat =
        trace("4\n4\n", &TraceOptions { amplitude: Some(10.0), shift: Some(2.0), ..d }, None);
    assert_eq!(flat.value_at(0.0), 2.0);
}

#[test]
fn value_at_sanitises_time() {
    let s = shape("ramp:from=5,to=10,duration=10s", None);
    assert_eq!(s.value_at(-1.0), 5.0);
    assert_eq!(s.value_at(f64::NAN), 5.0);
    assert_eq!(s.value_at(f64::INFINITY), 10.0);
    let sin = shape("sin:min=1,max=2,period=1s", None);
    assert_eq!(sin.value_at(f64::INFINITY), 0.0);
}

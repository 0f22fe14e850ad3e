//! The wrk2 "Detailed Percentile spectrum" file: HdrHistogram's classic
//! `percentiles_print` text format, loadable by the hdrhistogram.org plotter and by tools
//! that already parse wrk2 output.
//!
//! Reference: `src/hdr_histogram.c` of giltene/wrk2 (`hdr_percentiles_print`, CLASSIC
//! format, called by wrk2 with 5 ticks per half distance and a value scale of 1000):
//! header `%12s %12s %12s %12s\n\n`, rows `%12.3f %12f %12d %12.2f` (the last row's
//! `1/(1-Percentile)` is `inf`), and the three `#[...]` footer lines. Values are in
//! milliseconds (our histograms are µs); 3 decimals match the 3 significant digits.

use super::OutputError;
use hdrhistogram::Histogram;
use std::fmt::Write as _;
use std::path::Path;

/// wrk2's and HdrHistogram's default reporting density.
const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// µs → ms.
const VALUE_SCALE: f64 = 1000.0;

/// Writes the percentile spectrum of a µs histogram to `path`.
pub fn write_percentile_spectrum(path: &Path, hist: &Histogram<u64>) -> Result<(), OutputError> {
    std::fs::write(path, percentile_spectrum(hist)).map_err(|e| OutputError::io(path, e))
}

/// The spectrum text; public within the crate so the console can print it too.
pub(crate) fn percentile_spectrum(hist: &Histogram<u64>) -> String {
    let mut out = String::new();
    // `write!` into a String cannot fail, hence the ignored results.
    let _ = write!(
        out,
        "{:>12} {:>12} {:>12} {:>12}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    if !hist.is_empty() {
        let mut total: u64 = 0;
        for v in hist.iter_quantiles(TICKS_PER_HALF_DISTANCE) {
            // iter_quantiles reports the count since the previous row; wrk2 prints the running total.
            total += v.count_since_last_iteration();
            let q = v.quantile_iterated_to();
            let value = v.value_iterated_to() as f64 / VALUE_SCALE;
            let inverse = if q < 1.0 {
                format!("{:12.2}", 1.0 / (1.0 - q))
            } else {
                format!("{:>12}", "inf")
            };
            let _ = writeln!(out, "{value:12.3} {q:12.6} {total:12} {inverse}");
        }
    }
    let max = if hist.is_empty() { 0.0 } else { hist.max() as f64 / VALUE_SCALE };
    let _ = writeln!(
        out,
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]",
        hist.mean() / VALUE_SCALE,
        hist.stdev() / VALUE_SCALE
    );
    let _ = writeln!(out, "#[Max     = {max:12.3}, Total count    = {:12}]", hist.len());
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        hist.buckets(),
        sub_bucket_count(hist)
    );
    out
}

/// HdrHistogram's sub-bucket count (not exposed by the crate): the power of two that
/// covers `2 * 10^sigfig` values at unit resolution.
fn sub_bucket_count(hist: &Histogram<u64>) -> u64 {
    let single_unit_resolution = 2 * 10u64.pow(u32::from(hist.sigfig()));
    single_unit_resolution.next_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::output::test_util::temp_dir;
    use crate::load::stats::new_histogram;

    #[test]
    fn spectrum_format() {
        let mut h = new_histogram();
        // Below 2048 µs the histogram is exact, so the expected values are too.
        for us in [1_000u64, 1_200, 1_400, 1_600] {
            h.record(us).expect("in range");
        }
        let dir = temp_dir("hdr");
        let path = dir.join("spectrum.txt");
        write_percentile_spectrum(&path, &h).expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "       Value   Percentile   TotalCount 1/(1-Percentile)");
        assert_eq!(lines[1], "");
        assert_eq!(lines[2], "       1.000     0.000000            1         1.00");
        let last_row = lines[lines.len() - 4];
        assert_eq!(last_row, "       1.600     1.000000            4          inf");
        assert!(lines.contains(&"       1.200     0.500000            2         2.00"), "{text}");
        let n = lines.len();
        assert_eq!(lines[n - 3], "#[Mean    =        1.300, StdDeviation   =        0.224]");
        assert_eq!(lines[n - 2], "#[Max     =        1.600, Total count    =            4]");
        assert_eq!(
            lines[n - 1],
            format!("#[Buckets = {:12}, SubBuckets     =         2048]", h.buckets())
        );
    }

    #[test]
    fn empty_histogram_has_header_and_footer() {
        let text = percentile_spectrum(&new_histogram());
        assert!(text.starts_with("       Value   Percentile"));
        assert!(text.contains("Total count    =            0]"));
    }
}

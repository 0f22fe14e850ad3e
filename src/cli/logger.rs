//! A minimal `log` logger on stderr. Installed before goose runs, so goose's own logger
//! setup yields and its lines follow ctl's verbosity instead of going to stdout.

use log::{Level, Log, Metadata, Record};

struct StderrLogger {
    level: Level,
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record) {
        if self.enabled(record.metadata()) {
            eprintln!("{:<5} {}: {}", record.level(), record.target(), record.args());
        }
    }

    fn flush(&self) {}
}

/// Installs the logger: errors only by default, info with -v, debug with -vv.
pub fn install(verbose: u8) {
    let level = match verbose {
        0 => Level::Error,
        1 => Level::Info,
        _ => Level::Debug,
    };
    if log::set_boxed_logger(Box::new(StderrLogger { level })).is_ok() {
        log::set_max_level(level.to_level_filter());
    }
}

//! Ctrl-C and SIGTERM. During sampling, the first one stops the chains after their current
//! draw, and the draws so far are written, marked incomplete. Otherwise, and the second time,
//! the process ends at once with exit code 130, removing its temporary files and staging
//! directories first: an output not yet in place is discarded whole, one already written stays.

use std::sync::OnceLock;

use bgmm::StopSignal;

static STOP: OnceLock<StopSignal> = OnceLock::new();

/// Handle Ctrl-C and SIGTERM in this process (once, from `main`).
pub fn install() {
    // without a handler (one is already set in this process) Ctrl-C simply ends it
    let _ = ctrlc::set_handler(|| {
        if let Some(stop) = STOP.get() {
            if !stop.is_raised() {
                stop.raise();
                eprintln!(
                    "\ninterrupted: stopping after the current draw of each chain and keeping the draws so far (Ctrl-C again to quit without writing them)"
                );
                return;
            }
        }
        bgmm_io::remove_temporaries();
        let again = if STOP.get().is_some() { " again" } else { "" };
        if bgmm_io::runs_written() > 0 {
            eprintln!("\ninterrupted{again}: quitting; what was written stays whole, nothing more is written");
        } else {
            eprintln!("\ninterrupted{again}: quitting without writing");
        }
        std::process::exit(130);
    });
}

/// The stop signal of this process's sampling: raised by the first Ctrl-C (or SIGTERM) once
/// sampling has asked for it.
pub fn sampling_stop() -> StopSignal {
    STOP.get_or_init(StopSignal::new).clone()
}

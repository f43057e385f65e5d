//! `hub`: serves a centre, and the technician's subcommands (`cli/`, one module each).

use clap::Parser;

mod cli;

/// Under libfaketime (how a wall-clock step is tested), the monotonic clock is faked by default
/// too, and jumps with the wall clock — which the kernel's never does. Every timer of the async
/// runtime would then fire at once for as long as the step (handshakes cut short, hellos timed
/// out). So the hub restarts itself with the monotonic clock left real: the wall clock steps, as
/// it would on a real machine, and time keeps passing.
#[cfg(unix)]
fn keep_the_monotonic_clock_real() {
    use std::os::unix::process::CommandExt;
    let preloaded = std::env::var("LD_PRELOAD").unwrap_or_default();
    if !preloaded.contains("faketime") || std::env::var_os("FAKETIME_DONT_FAKE_MONOTONIC").is_some()
    {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let error = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .exec();
    eprintln!("hub: cannot restart with a real monotonic clock: {error}");
}

fn main() -> std::process::ExitCode {
    #[cfg(unix)]
    keep_the_monotonic_clock_real();
    if let Err(e) = logging::init("info", logging::Output::Stderr) {
        eprintln!("hub: {e:#}");
    }
    match cli::run(cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hub: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

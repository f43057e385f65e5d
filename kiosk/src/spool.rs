//! The printer's own thread. A USB printer that takes no bytes blocks a write in the kernel with
//! no timeout of its own; the thread that wrote stays stuck until the printer lets go. So the
//! kiosk never writes itself: it hands the ticket to this thread and waits at most a few
//! seconds. A ticket not taken by then is reported as `printer_offline` (the kiosk goes home and
//! tells the hub), and a ticket that was still queued behind a stuck one is dropped when its
//! time has passed — never printed minutes later for someone who has left.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::printer::{PrintError, PrinterSpec};
use crate::ticket::TicketContent;

/// How long the printer may take to accept a ticket.
pub const PRINT_TIMEOUT: Duration = Duration::from_secs(10);

struct Job {
    content: TicketContent,
    /// Not started by then: dropped.
    start_by: Instant,
    done: mpsc::Sender<Result<(), PrintError>>,
}

/// A printer with its thread. Cheap to clone; the thread ends with the last clone.
#[derive(Clone)]
pub struct Spooler {
    jobs: mpsc::Sender<Job>,
    pub spec: PrinterSpec,
}

impl Spooler {
    pub fn start(spec: PrinterSpec) -> Spooler {
        let (jobs, queue) = mpsc::channel::<Job>();
        let printer = spec.clone();
        std::thread::Builder::new()
            .name("printer".into())
            .spawn(move || {
                for job in queue {
                    let outcome = if Instant::now() > job.start_by {
                        Err(PrintError::Stuck)
                    } else {
                        printer.print(&job.content)
                    };
                    let _ = job.done.send(outcome);
                }
            })
            .map_or_else(
                |e| tracing::error!("cannot start the printer thread: {e}"),
                drop,
            );
        Spooler { jobs, spec }
    }

    /// Prints `content`, waiting at most `within` for the printer to take it.
    pub fn print(&self, content: TicketContent, within: Duration) -> Result<(), PrintError> {
        let (done, outcome) = mpsc::channel();
        let job = Job {
            content,
            start_by: Instant::now() + within,
            done,
        };
        if self.jobs.send(job).is_err() {
            return Err(PrintError::Stuck);
        }
        outcome
            .recv_timeout(within)
            .unwrap_or(Err(PrintError::Stuck))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::Target;

    fn content(number: &str) -> TicketContent {
        TicketContent {
            center: "Trung tâm".into(),
            service: "Tư pháp".into(),
            number: number.into(),
            priority: None,
            issued: "23/11/2026 08:15".into(),
            ahead: Some(2),
            eta_min: Some(10),
            track_url: None,
            appointment: None,
        }
    }

    #[test]
    fn a_printer_that_never_takes_a_byte_is_offline_in_time_and_prints_nothing_later() {
        let dir = tempfile::tempdir().expect("tmp");
        // A FIFO nobody reads: opening it for writing blocks, as a hung USB printer does.
        let fifo = dir.path().join("lp0");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let spooler = Spooler::start(PrinterSpec {
            target: Target::Device(fifo.clone()),
            dots: 384,
            text_only: true,
        });
        let within = Duration::from_millis(300);
        let first = spooler.print(content("A1001"), within);
        assert_eq!(first, Err(PrintError::Stuck));
        assert_eq!(first.unwrap_err().status(), "printer_offline");
        // The next citizen's ticket waits behind the stuck one and is given up in time too.
        let second = spooler.print(content("A1002"), within);
        assert_eq!(second, Err(PrintError::Stuck));
        // The printer comes back (someone reads the FIFO): the stuck ticket goes through, the
        // queued one — whose time has passed — is dropped, never printed.
        let reader = std::thread::spawn(move || {
            // Each job opens the device anew: read until the third ticket has come through.
            let mut printed = String::new();
            while !printed.contains("A1003") {
                printed.push_str(&String::from_utf8_lossy(
                    &std::fs::read(&fifo).expect("read"),
                ));
            }
            printed
        });
        let third = spooler.print(content("A1003"), Duration::from_secs(5));
        let printed = reader.join().expect("reader");
        assert!(printed.contains("A1001"), "{printed:?}");
        assert!(!printed.contains("A1002"), "{printed:?}");
        assert_eq!(third, Ok(()), "a working printer prints again");
    }
}

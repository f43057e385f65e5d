//! Printing a ticket: the job is built with the `escpos` crate (raster bit image of the rendered
//! ticket, the tracking QR code, a cut) into memory, then sent to the printer — a network printer
//! (`tcp:HOST[:PORT]`), a USB printer's device file (`/dev/usb/lp0`) or a file (`file:PATH`, for
//! tests and the demo). Errors are classified so the hub can be told (`device_status`).

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::rc::Rc;
use std::time::Duration;

use escpos::driver::Driver;
use escpos::printer::Printer;
use escpos::utils::{
    BitImageOption, BitImageSize, JustifyMode, Protocol, QRCodeCorrectionLevel, QRCodeModel,
    QRCodeOption,
};

use crate::ticket::{self, TicketContent};

/// Where the bytes go (parsed as `hub doctor` parses it).
pub use hub_client::printer_address::PrinterAddress as Target;

/// A printer: where it is, its paper width and whether it can print images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterSpec {
    pub target: Target,
    /// Printable width in dots: 384 (58 mm paper) or 576 (80 mm).
    pub dots: u32,
    /// Prints plain text without diacritics instead of the raster ticket.
    pub text_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrintError {
    #[error("printer address {0:?}: use tcp:HOST[:PORT], /dev/usb/lpN or file:PATH")]
    BadSpec(String),
    #[error("paper width {0}: use 58 or 80 (mm)")]
    BadPaper(String),
    #[error("the printer is out of paper")]
    PaperOut,
    #[error("cannot reach the printer at {target}: {message}")]
    Offline { target: String, message: String },
    #[error("building the print job: {0}")]
    Job(String),
    #[error("the printer did not take the ticket in time (hung or switched off)")]
    Stuck,
}

impl PrintError {
    /// The word sent to the hub in `device_status`.
    pub fn status(&self) -> &'static str {
        match self {
            PrintError::PaperOut => "paper_out",
            PrintError::Offline { .. } | PrintError::Stuck => "printer_offline",
            _ => "printer_error",
        }
    }
}

impl PrinterSpec {
    /// Parses `tcp:HOST[:PORT]`, `usb:/dev/usb/lp0` or `/dev/…`, `file:PATH`; `paper_mm` is 58 or 80.
    pub fn parse(spec: &str, paper_mm: u32, text_only: bool) -> Result<PrinterSpec, PrintError> {
        let target = Target::parse(spec).map_err(|_| PrintError::BadSpec(spec.to_string()))?;
        let dots = match paper_mm {
            58 => 384,
            80 => 576,
            other => return Err(PrintError::BadPaper(other.to_string())),
        };
        Ok(PrinterSpec {
            target,
            dots,
            text_only,
        })
    }

    /// Builds the job for `content` and sends it.
    pub fn print(&self, content: &TicketContent) -> Result<(), PrintError> {
        let bytes = job(content, self.dots, self.text_only)?;
        send(&self.target, &bytes)
    }
}

/// Collects what `escpos` would send, so the transport is ours (timeouts, error classes).
#[derive(Clone, Default)]
struct Capture(Rc<RefCell<Vec<u8>>>);

impl Driver for Capture {
    fn name(&self) -> String {
        "memory".into()
    }
    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }
    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

/// Rows per raster band: small printers choke on one tall image, so the ticket goes in slices.
pub const BAND_ROWS: u32 = 256;

/// The ESC/POS bytes of one ticket.
pub fn job(content: &TicketContent, dots: u32, text_only: bool) -> Result<Vec<u8>, PrintError> {
    let e = |e: escpos::errors::PrinterError| PrintError::Job(e.to_string());
    let capture = Capture::default();
    let mut printer = Printer::new(capture.clone(), Protocol::default(), None);
    printer.init().map_err(e)?;
    if text_only {
        printer.justify(JustifyMode::CENTER).map_err(e)?;
        for (i, line) in content.text_lines().iter().enumerate() {
            // The number, large.
            if line == &content.number {
                printer.size(3, 3).map_err(e)?.bold(true).map_err(e)?;
                printer.writeln(line).map_err(e)?;
                printer.size(1, 1).map_err(e)?.bold(false).map_err(e)?;
            } else {
                printer.bold(i == 0).map_err(e)?;
                printer.writeln(line).map_err(e)?;
            }
        }
    } else {
        let image = ticket::render(content, dots);
        let mut top = 0;
        while top < image.height() {
            let rows = BAND_ROWS.min(image.height() - top);
            let band = image::imageops::crop_imm(&image, 0, top, dots, rows).to_image();
            let mut png = Vec::new();
            image::DynamicImage::ImageLuma8(band)
                .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
                .map_err(|err| PrintError::Job(err.to_string()))?;
            let option = BitImageOption::new(Some(dots), None, BitImageSize::Normal).map_err(e)?;
            printer
                .bit_image_from_bytes_option(&png, option)
                .map_err(e)?;
            top += rows;
        }
    }
    if let Some(url) = &content.track_url {
        printer.justify(JustifyMode::CENTER).map_err(e)?;
        printer
            .qrcode_option(
                url,
                QRCodeOption::new(QRCodeModel::Model2, 6, QRCodeCorrectionLevel::M),
            )
            .map_err(e)?;
    }
    printer.feeds(3).map_err(e)?;
    printer.print_cut().map_err(e)?;
    let bytes = capture.0.borrow().clone();
    Ok(bytes)
}

const TIMEOUT: Duration = Duration::from_secs(3);

/// Sends a job. A network printer is asked for its paper sensor first (DLE EOT 4) so that an
/// empty roll is reported rather than a ticket silently lost; printers that do not answer are
/// printed to anyway.
pub fn send(target: &Target, bytes: &[u8]) -> Result<(), PrintError> {
    match target {
        Target::Tcp { host, port } => {
            let name = format!("{host}:{port}");
            let offline = |message: String| PrintError::Offline {
                target: name.clone(),
                message,
            };
            let addr = (host.as_str(), *port)
                .to_socket_addrs()
                .map_err(|err| offline(err.to_string()))?
                .next()
                .ok_or_else(|| offline("no address".into()))?;
            let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)
                .map_err(|err| offline(err.to_string()))?;
            stream
                .set_write_timeout(Some(TIMEOUT))
                .and_then(|()| stream.set_read_timeout(Some(Duration::from_millis(500))))
                .map_err(|err| offline(err.to_string()))?;
            stream
                .write_all(&[0x10, 0x04, 0x04])
                .map_err(|err| offline(err.to_string()))?;
            let mut status = [0u8; 1];
            if let Ok(1) = stream.read(&mut status)
                && paper_end(status[0])
            {
                return Err(PrintError::PaperOut);
            }
            stream
                .write_all(bytes)
                .and_then(|()| stream.flush())
                .map_err(|err| offline(err.to_string()))
        }
        Target::Device(path) => {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|err| device_error(path, &err))?;
            file.write_all(bytes)
                .and_then(|()| file.flush())
                .map_err(|err| device_error(path, &err))
        }
        Target::File(path) => std::fs::write(path, bytes).map_err(|err| PrintError::Offline {
            target: path.display().to_string(),
            message: err.to_string(),
        }),
    }
}

/// DLE EOT 4 answer: bits 5 and 6 say the paper roll is out.
fn paper_end(status: u8) -> bool {
    status & 0x60 == 0x60
}

/// The Linux USB printer driver answers writes with ENOSPC when the paper is out.
fn device_error(path: &std::path::Path, err: &std::io::Error) -> PrintError {
    if err.raw_os_error() == Some(28) {
        PrintError::PaperOut
    } else {
        PrintError::Offline {
            target: path.display().to_string(),
            message: err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_addresses() {
        let p = PrinterSpec::parse("tcp:192.168.1.50", 80, false).expect("tcp");
        assert_eq!(
            p.target,
            Target::Tcp {
                host: "192.168.1.50".into(),
                port: 9100
            }
        );
        assert_eq!(p.dots, 576);
        let p = PrinterSpec::parse("tcp:printer.local:9101", 58, true).expect("tcp");
        assert_eq!(p.dots, 384);
        assert!(p.text_only);
        assert_eq!(
            PrinterSpec::parse("/dev/usb/lp0", 80, false)
                .expect("usb")
                .target,
            Target::Device("/dev/usb/lp0".into())
        );
        assert_eq!(
            PrinterSpec::parse("file:t.bin", 80, false)
                .expect("file")
                .target,
            Target::File("t.bin".into())
        );
        for bad in [
            "",
            "lp0",
            "tcp:",
            "tcp:host:x",
            "tcp:host:0",
            "file:",
            "http://x",
        ] {
            assert!(PrinterSpec::parse(bad, 80, false).is_err(), "{bad:?}");
        }
        assert!(matches!(
            PrinterSpec::parse("file:x", 70, false),
            Err(PrintError::BadPaper(_))
        ));
    }

    #[test]
    fn errors_become_device_statuses() {
        assert_eq!(PrintError::PaperOut.status(), "paper_out");
        let unreachable = send(
            &Target::Tcp {
                host: "127.0.0.1".into(),
                port: 1,
            },
            b"x",
        )
        .expect_err("nothing listens on port 1");
        assert_eq!(unreachable.status(), "printer_offline");
        let missing =
            send(&Target::Device("/nonexistent/lp0".into()), b"x").expect_err("no device");
        assert_eq!(missing.status(), "printer_offline");
        assert!(paper_end(0x72) && !paper_end(0x12));
    }
}

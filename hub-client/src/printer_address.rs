//! Where a kiosk's ticket printer is, as its settings write it (`printer = "…"`). Shared by the
//! kiosk, which prints there, and `hub doctor`, which tries it the same way.

use std::path::PathBuf;

/// Where the bytes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterAddress {
    /// A network printer (raw port, 9100 unless given).
    Tcp { host: String, port: u16 },
    /// A device file such as `/dev/usb/lp0`: opened for writing, never created.
    Device(PathBuf),
    /// A plain file, replaced by each job.
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("printer address {0:?}: use tcp:HOST[:PORT], /dev/usb/lpN or file:PATH")]
pub struct BadPrinterAddress(pub String);

impl PrinterAddress {
    /// Parses `tcp:HOST[:PORT]`, `usb:/dev/usb/lp0` or `/dev/…`, `file:PATH`.
    pub fn parse(spec: &str) -> Result<PrinterAddress, BadPrinterAddress> {
        let bad = || BadPrinterAddress(spec.to_string());
        if let Some(rest) = spec.strip_prefix("tcp:") {
            let (host, port) = match rest.rsplit_once(':') {
                Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
                None => (rest, 9100),
            };
            if host.is_empty() || port == 0 {
                return Err(bad());
            }
            Ok(PrinterAddress::Tcp {
                host: host.to_string(),
                port,
            })
        } else if let Some(path) = spec.strip_prefix("file:") {
            if path.is_empty() {
                return Err(bad());
            }
            Ok(PrinterAddress::File(path.into()))
        } else if let Some(path) = spec.strip_prefix("usb:") {
            if path.is_empty() {
                return Err(bad());
            }
            Ok(PrinterAddress::Device(path.into()))
        } else if spec.starts_with("/dev/") {
            Ok(PrinterAddress::Device(spec.into()))
        } else {
            Err(bad())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_written_form_is_read_and_nonsense_refused() {
        assert_eq!(
            PrinterAddress::parse("tcp:192.168.1.50"),
            Ok(PrinterAddress::Tcp {
                host: "192.168.1.50".into(),
                port: 9100
            })
        );
        assert_eq!(
            PrinterAddress::parse("tcp:printer.local:9101"),
            Ok(PrinterAddress::Tcp {
                host: "printer.local".into(),
                port: 9101
            })
        );
        assert_eq!(
            PrinterAddress::parse("usb:/dev/usb/lp1"),
            Ok(PrinterAddress::Device("/dev/usb/lp1".into()))
        );
        assert_eq!(
            PrinterAddress::parse("/dev/usb/lp0"),
            Ok(PrinterAddress::Device("/dev/usb/lp0".into()))
        );
        assert_eq!(
            PrinterAddress::parse("file:t.bin"),
            Ok(PrinterAddress::File("t.bin".into()))
        );
        for nonsense in [
            "",
            "tcp:",
            "tcp::9100",
            "tcp:h:0",
            "tcp:h:x",
            "file:",
            "usb:",
            "lp0",
        ] {
            assert!(PrinterAddress::parse(nonsense).is_err(), "{nonsense:?}");
        }
    }
}

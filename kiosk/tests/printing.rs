//! The printed ticket, checked on the bytes: an ESC/POS decoder written here from the command
//! reference (not from the `escpos` crate) reads the job back, and the raster it finds must be,
//! pixel for pixel, the image the kiosk rendered; then the QR code, then the cut.

use std::io::{Read, Write};
use std::net::TcpListener;

use kiosk::printer::{self, PrintError, PrinterSpec, Target};
use kiosk::ticket::{self, TicketContent};

/// What a job contains, as a printer would see it.
#[derive(Debug, Default)]
struct Decoded {
    /// Raster images: (width in dots, rows of bits).
    images: Vec<(u32, Vec<Vec<bool>>)>,
    /// Data stored for a QR code (GS ( k, fn 80).
    qr: Option<String>,
    qr_printed: bool,
    cut: bool,
    text: String,
}

fn decode(b: &[u8]) -> Decoded {
    let mut d = Decoded::default();
    let mut i = 0;
    let byte = |i: usize| -> u8 { *b.get(i).unwrap_or_else(|| panic!("truncated at {i}")) };
    while i < b.len() {
        match b[i] {
            0x1b => {
                let cmd = byte(i + 1);
                i += match cmd {
                    b'@' => 2,
                    b'a' | b'd' | b'E' | b'!' | b'-' | b't' | b'M' | b'J' | b'3' | b'R' | b'G' => 3,
                    b'2' => 2,
                    other => panic!("unknown ESC {other:#x} at {i}"),
                };
            }
            0x1d => {
                let cmd = byte(i + 1);
                match cmd {
                    b'v' => {
                        assert_eq!(byte(i + 2), b'0', "GS v 0");
                        let xbytes = u32::from(byte(i + 4)) | (u32::from(byte(i + 5)) << 8);
                        let rows = u32::from(byte(i + 6)) | (u32::from(byte(i + 7)) << 8);
                        let start = i + 8;
                        let len = (xbytes * rows) as usize;
                        let data = &b[start..start + len];
                        let bits = (0..rows as usize)
                            .map(|r| {
                                (0..xbytes as usize * 8)
                                    .map(|x| {
                                        data[r * xbytes as usize + x / 8] & (0x80 >> (x % 8)) != 0
                                    })
                                    .collect()
                            })
                            .collect();
                        d.images.push((xbytes * 8, bits));
                        i = start + len;
                    }
                    b'(' => {
                        assert_eq!(byte(i + 2), b'k', "only GS ( k is expected");
                        let len = usize::from(byte(i + 3)) | (usize::from(byte(i + 4)) << 8);
                        let payload = &b[i + 5..i + 5 + len];
                        if payload.len() >= 3 && payload[0] == 49 && payload[1] == 80 {
                            d.qr = Some(String::from_utf8_lossy(&payload[3..]).into_owned());
                        }
                        if payload.len() >= 2 && payload[0] == 49 && payload[1] == 81 {
                            d.qr_printed = true;
                        }
                        i += 5 + len;
                    }
                    b'V' => {
                        d.cut = true;
                        i += if byte(i + 2) >= 65 { 4 } else { 3 };
                    }
                    b'!' | b'B' | b'b' => i += 3,
                    other => panic!("unknown GS {other:#x} at {i}"),
                }
            }
            0x0a => {
                d.text.push('\n');
                i += 1;
            }
            0x18 => i += 1,
            c if (0x20..0x7f).contains(&c) => {
                d.text.push(c as char);
                i += 1;
            }
            other => panic!("unexpected byte {other:#x} at {i}"),
        }
    }
    d
}

#[test]
fn the_raster_decodes_back_to_the_rendered_ticket() {
    let content = TicketContent::sample();
    for dots in [384, 576] {
        let bytes = printer::job(&content, dots, false).expect("job");
        let d = decode(&bytes);
        assert!(!d.images.is_empty());
        let mut rows: Vec<Vec<bool>> = vec![];
        for (width, image) in &d.images {
            assert!(*width <= dots, "{width} wider than {dots}");
            assert!(image.len() as u32 <= printer::BAND_ROWS);
            rows.extend(image.iter().cloned());
        }
        let rendered = ticket::render(&content, dots);
        assert_eq!(rows.len() as u32, rendered.height());
        for (y, row) in rows.iter().enumerate() {
            for x in 0..dots {
                let black = rendered.get_pixel(x, y as u32).0[0] == 0;
                assert_eq!(row[x as usize], black, "pixel ({x}, {y}) at {dots} dots");
            }
        }
        assert_eq!(d.qr.as_deref(), content.track_url.as_deref());
        assert!(d.qr_printed, "the QR code is printed, not only stored");
        assert!(d.cut);
        // The cut comes last: nothing is printed after the paper is cut.
        assert_eq!(&bytes[bytes.len() - 4..bytes.len() - 2], &[0x1d, b'V']);
    }
}

#[test]
fn a_text_only_printer_gets_plain_ascii() {
    let content = TicketContent::sample();
    let d = decode(&printer::job(&content, 576, true).expect("job"));
    assert!(d.images.is_empty());
    assert!(d.text.contains("A1005"), "{}", d.text);
    assert!(d.text.contains("Tu phap - Ho tich"), "{}", d.text);
    assert!(d.text.contains("UU TIEN"), "{}", d.text);
    assert!(d.cut);
}

#[test]
fn print_test_writes_a_decodable_ticket_through_the_real_binary() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("t.bin");
    let png = dir.path().join("t.png");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(["print-test", "--paper", "58", "--printer"])
        .arg(format!("file:{}", out.display()))
        .arg("--png")
        .arg(&png)
        .status()
        .expect("kiosk runs");
    assert!(status.success());
    let d = decode(&std::fs::read(&out).expect("job written"));
    assert!(d.images.iter().all(|(w, _)| *w <= 384));
    assert!(d.qr.is_some() && d.cut);
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(["print-test", "--printer", "lp0"])
        .output()
        .expect("kiosk runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("tcp:HOST"));
}

/// A network printer on loopback that answers the paper-sensor query with `status` and keeps
/// what it receives.
fn fake_printer(status: u8) -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut query = [0u8; 3];
        s.read_exact(&mut query).expect("query");
        assert_eq!(query, [0x10, 0x04, 0x04]);
        s.write_all(&[status]).expect("answer");
        let mut rest = vec![];
        s.read_to_end(&mut rest).expect("job");
        rest
    });
    (port, handle)
}

#[test]
fn a_network_printer_gets_the_job_or_reports_paper_out() {
    let content = TicketContent::sample();
    let (port, printer_thread) = fake_printer(0x12);
    let spec = PrinterSpec::parse(&format!("tcp:127.0.0.1:{port}"), 80, false).expect("spec");
    spec.print(&content).expect("printed");
    let received = printer_thread.join().expect("printer");
    assert_eq!(received, printer::job(&content, 576, false).expect("job"));

    let (port, printer_thread) = fake_printer(0x72);
    let spec = PrinterSpec::parse(&format!("tcp:127.0.0.1:{port}"), 80, false).expect("spec");
    let err = spec.print(&content).expect_err("paper out");
    assert_eq!(err, PrintError::PaperOut);
    assert_eq!(err.status(), "paper_out");
    assert!(
        printer_thread.join().expect("printer").is_empty(),
        "nothing sent to an empty printer"
    );
    assert!(matches!(spec.target, Target::Tcp { .. }));
}

//! The printed ticket: its content, drawn as a black-and-white raster at the printer's width with
//! the embedded Noto Sans (so every Vietnamese tone mark prints, whatever the printer's code
//! pages), and the same content as plain text without diacritics for printers that cannot print
//! images.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::{GrayImage, Luma};
use unicode_normalization::UnicodeNormalization;

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Bold.ttf");

/// What a ticket says. Built from the hub's reply; nothing personal in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketContent {
    pub center: String,
    pub service: String,
    pub number: String,
    /// The priority category's name, when the ticket has one.
    pub priority: Option<String>,
    /// Date and time of issue, local to the centre: "23/11/2026 08:15".
    pub issued: String,
    pub ahead: Option<u32>,
    pub eta_min: Option<u32>,
    /// The tracking page (`{public_url}/t/{track}`), printed as a QR code.
    pub track_url: Option<String>,
    /// An appointment's time, local to the centre: "09:00".
    pub appointment: Option<String>,
}

impl TicketContent {
    /// What the ticket the hub issued says, with the centre's names and local time.
    pub fn of(mirror: &hub_client::Mirror, t: &protocol::Ticket) -> TicketContent {
        let center = mirror.center.as_ref();
        let category = |id: &str| {
            mirror
                .categories
                .iter()
                .find(|c| c.id == id)
                .map_or_else(|| id.to_string(), |c| c.name_vi.clone())
        };
        let zone = app_shell::centre_time::zone(mirror);
        TicketContent {
            appointment: t
                .appointment
                .as_ref()
                .map(|a| a.start.with_timezone(&zone).format("%H:%M").to_string()),
            center: center.map(|c| c.name.clone()).unwrap_or_default(),
            service: mirror.service_name(&t.service),
            number: t.number.clone(),
            priority: t.priority.as_deref().map(category),
            issued: t
                .issued_at
                .with_timezone(&app_shell::centre_time::zone(mirror))
                .format("%d/%m/%Y %H:%M")
                .to_string(),
            ahead: t.ahead,
            eta_min: t.eta_min,
            // The province's door first: the citizen may follow from anywhere.
            track_url: match (
                center.and_then(|c| c.track_base.as_ref().or(c.public_url.as_ref())),
                &t.track,
            ) {
                (Some(url), Some(track)) => {
                    Some(format!("{}/t/{track}", url.trim_end_matches('/')))
                }
                _ => None,
            },
        }
    }

    /// The sample a technician prints with `kiosk print-test`.
    pub fn sample() -> TicketContent {
        TicketContent {
            center: "Trung tâm Phục vụ hành chính công tỉnh".into(),
            service: "Tư pháp – Hộ tịch".into(),
            number: "A1005".into(),
            priority: Some("Người cao tuổi (từ 60 tuổi)".into()),
            issued: "23/11/2026 08:15".into(),
            ahead: Some(4),
            eta_min: Some(12),
            track_url: Some("http://127.0.0.1:7878/t/sample".into()),
            appointment: None,
        }
    }

    /// The lines of the ticket, top to bottom, with their style.
    fn lines(&self) -> Vec<(Style, String)> {
        let mut out = vec![
            (Style::Header, self.center.clone()),
            (Style::Rule, String::new()),
            (Style::Service, self.service.clone()),
            (Style::Small, "Số thứ tự của bạn · Your number".into()),
            (Style::Number, self.number.clone()),
        ];
        if let Some(p) = &self.priority {
            out.push((Style::Priority, format!("ƯU TIÊN: {p}")));
        }
        if let Some(at) = &self.appointment {
            out.push((Style::Priority, format!("LỊCH HẸN LÚC {at}")));
        }
        if let Some(ahead) = self.ahead {
            out.push((Style::Body, format!("Số người chờ trước bạn: {ahead}")));
        }
        if let Some(eta) = self.eta_min.filter(|e| *e > 0) {
            out.push((Style::Body, format!("Thời gian chờ dự kiến: ~{eta} phút")));
        }
        out.push((Style::Emphasis, "Vui lòng chờ gọi số".into()));
        out.push((
            Style::Small,
            "Please wait for your number to be called".into(),
        ));
        out.push((Style::Small, format!("Ngày giờ lấy số: {}", self.issued)));
        if self.track_url.is_some() {
            out.push((
                Style::Small,
                "Quét mã để theo dõi số trên điện thoại".into(),
            ));
        }
        out
    }

    /// The ticket as plain ASCII lines, for text-only printers.
    pub fn text_lines(&self) -> Vec<String> {
        let mut out = vec![
            without_diacritics(&self.center),
            "--------------------------------".into(),
            without_diacritics(&self.service),
            "So thu tu cua ban / Your number".into(),
        ];
        out.push(self.number.clone());
        if let Some(p) = &self.priority {
            out.push(format!("UU TIEN: {}", without_diacritics(p)));
        }
        if let Some(at) = &self.appointment {
            out.push(format!("LICH HEN LUC {at}"));
        }
        if let Some(ahead) = self.ahead {
            out.push(format!("So nguoi cho truoc ban: {ahead}"));
        }
        if let Some(eta) = self.eta_min.filter(|e| *e > 0) {
            out.push(format!("Thoi gian cho du kien: ~{eta} phut"));
        }
        out.push("Vui long cho goi so".into());
        out.push(format!("Ngay gio lay so: {}", self.issued));
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Header,
    Rule,
    Service,
    Small,
    Number,
    Priority,
    Body,
    Emphasis,
}

impl Style {
    /// Size in pixels on an 80 mm (576-dot) ticket, and whether bold.
    fn size(self) -> (f32, bool) {
        match self {
            Style::Header => (26.0, true),
            Style::Rule => (12.0, false),
            Style::Service => (36.0, true),
            Style::Small => (21.0, false),
            Style::Number => (150.0, true),
            Style::Priority => (28.0, true),
            Style::Body => (26.0, false),
            Style::Emphasis => (28.0, true),
        }
    }
}

/// Vietnamese to plain ASCII: "Tư pháp – Hộ tịch" → "Tu phap - Ho tich".
pub fn without_diacritics(s: &str) -> String {
    s.nfd()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .map(|c| match c {
            'đ' => 'd',
            'Đ' => 'D',
            '–' | '—' => '-',
            '·' => '-',
            c if c.is_ascii() => c,
            _ => '?',
        })
        .collect()
}

/// Draws the ticket `dots` wide (384 for 58 mm paper, 576 for 80 mm). Pixels are 0 (black) or
/// 255 (white), the height a multiple of 8.
pub fn render(content: &TicketContent, dots: u32) -> GrayImage {
    let fonts = (
        FontRef::try_from_slice(REGULAR).ok(),
        FontRef::try_from_slice(BOLD).ok(),
    );
    let (Some(regular), Some(bold)) = fonts else {
        // The fonts are compiled in; a broken build would fail the tests long before this.
        return GrayImage::from_pixel(dots, 8, Luma([255]));
    };
    let k = dots as f32 / 576.0;
    // Text shrinks less than the paper: on 58 mm the small lines must stay legible.
    let text_k = k.sqrt();
    let margin = (12.0 * k).round();
    let width = dots as f32 - 2.0 * margin;
    // Lay out first, then draw on a canvas of the right height.
    let mut placed: Vec<(Style, String, f32, f32, PxScale)> = vec![];
    let mut y = 10.0 * k;
    for (style, text) in content.lines() {
        let (px, is_bold) = style.size();
        let font = if is_bold { &bold } else { &regular };
        let mut scale = PxScale::from(px * if style == Style::Number { k } else { text_k });
        let text: String = text.nfc().collect();
        if style == Style::Rule {
            placed.push((style, text, 0.0, y + 6.0 * k, scale));
            y += 16.0 * k;
            continue;
        }
        // The number must fit on one line: shrink it rather than wrap it.
        if style == Style::Number {
            let w = text_width(font, scale, &text);
            if w > width {
                scale = PxScale::from(scale.x * width / w);
            }
        }
        let scaled = font.as_scaled(scale);
        let line_height = scaled.ascent() - scaled.descent() + scaled.line_gap();
        let pad = if style == Style::Priority {
            8.0 * k
        } else {
            0.0
        };
        for line in wrap(font, scale, &text, width - 2.0 * pad) {
            let w = text_width(font, scale, &line);
            let x = margin + ((width - w) / 2.0).max(0.0);
            placed.push((style, line, x, y + pad, scale));
            y += line_height + 2.0 * pad;
        }
        y += 4.0 * k;
    }
    let height = ((y + 10.0 * k).ceil() as u32).div_ceil(8) * 8;
    let mut coverage = vec![0.0_f32; (dots * height) as usize];
    let mut inverted: Vec<(u32, u32, u32, u32)> = vec![];
    for (style, text, x, top, scale) in &placed {
        let (_, is_bold) = style.size();
        let font = if is_bold { &bold } else { &regular };
        match style {
            Style::Rule => {
                let y0 = *top as u32;
                for yy in y0..(y0 + (2.0 * k).max(2.0) as u32).min(height) {
                    for xx in margin as u32..(dots - margin as u32) {
                        coverage[(yy * dots + xx) as usize] = 1.0;
                    }
                }
            }
            _ => {
                if *style == Style::Priority {
                    let scaled = font.as_scaled(*scale);
                    let pad = 8.0 * k;
                    let w = text_width(font, *scale, text);
                    let edge = margin / 2.0;
                    inverted.push((
                        (x - pad).max(edge) as u32,
                        (top - pad).max(0.0) as u32,
                        (x + w + pad).min(dots as f32 - edge) as u32,
                        ((top + scaled.ascent() - scaled.descent() + pad) as u32).min(height),
                    ));
                }
                let mut canvas = Canvas {
                    coverage: &mut coverage,
                    width: dots,
                    height,
                };
                draw_text(&mut canvas, font, *scale, text, (*x, *top));
            }
        }
    }
    let mut image = GrayImage::from_pixel(dots, height, Luma([255]));
    for (i, c) in coverage.iter().enumerate() {
        // A little under half coverage keeps thin strokes and tone marks on a thermal head.
        if *c >= 0.4 {
            image.put_pixel(i as u32 % dots, i as u32 / dots, Luma([0]));
        }
    }
    // The priority mark is white on black, so it shows from across the room.
    for (x0, y0, x1, y1) in inverted {
        for yy in y0..y1 {
            for xx in x0..x1 {
                let p = image.get_pixel_mut(xx, yy);
                p.0[0] = 255 - p.0[0];
            }
        }
    }
    image
}

fn text_width(font: &FontRef<'_>, scale: PxScale, text: &str) -> f32 {
    let scaled = font.as_scaled(scale);
    let mut w = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = previous {
            w += scaled.kern(p, id);
        }
        w += scaled.h_advance(id);
        previous = Some(id);
    }
    w
}

/// Greedy word wrap to `width` pixels.
fn wrap(font: &FontRef<'_>, scale: PxScale, text: &str, width: f32) -> Vec<String> {
    let mut lines: Vec<String> = vec![];
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_string()
        } else {
            format!("{current} {word}")
        };
        if text_width(font, scale, &candidate) <= width || current.is_empty() {
            current = candidate;
        } else {
            lines.push(std::mem::take(&mut current));
            current = word.to_string();
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// Ink coverage (0–1) of each dot of the ticket, row by row.
struct Canvas<'a> {
    coverage: &'a mut [f32],
    width: u32,
    height: u32,
}

/// Draws `text` with its top-left corner at (`x`, `top`).
fn draw_text(
    canvas: &mut Canvas<'_>,
    font: &FontRef<'_>,
    scale: PxScale,
    text: &str,
    (x, top): (f32, f32),
) {
    let (width, height) = (canvas.width, canvas.height);
    let coverage = &mut *canvas.coverage;
    let scaled = font.as_scaled(scale);
    let baseline = top + scaled.ascent();
    let mut caret = x;
    let mut previous = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = previous {
            caret += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, point(caret, baseline));
        caret += scaled.h_advance(id);
        previous = Some(id);
        if let Some(outline) = font.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, c| {
                let px = bounds.min.x as i64 + i64::from(gx);
                let py = bounds.min.y as i64 + i64::from(gy);
                if px >= 0 && py >= 0 && (px as u32) < width && (py as u32) < height {
                    let i = (py as u32 * width + px as u32) as usize;
                    coverage[i] = (coverage[i] + c).min(1.0);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diacritics_are_removed_for_text_printers() {
        assert_eq!(without_diacritics("Tư pháp – Hộ tịch"), "Tu phap - Ho tich");
        assert_eq!(
            without_diacritics("Đất đai · Người cao tuổi"),
            "Dat dai - Nguoi cao tuoi"
        );
        assert!(
            TicketContent::sample()
                .text_lines()
                .iter()
                .all(|l| l.is_ascii())
        );
    }

    #[test]
    fn the_ticket_is_as_wide_as_the_paper_black_and_white() {
        for dots in [384, 576] {
            let img = render(&TicketContent::sample(), dots);
            assert_eq!(img.width(), dots);
            assert_eq!(img.height() % 8, 0);
            assert!(img.height() > 300, "{}", img.height());
            assert!(img.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255));
            let black = img.pixels().filter(|p| p.0[0] == 0).count();
            let share = black as f64 / f64::from(img.width() * img.height());
            assert!((0.03..0.5).contains(&share), "{share} black");
        }
    }

    #[test]
    fn long_names_wrap_and_long_numbers_shrink_to_fit() {
        let mut t = TicketContent::sample();
        t.service = "Lao động – Thương binh và Xã hội, người có công và bảo trợ xã hội".into();
        t.number = "ABCD123456".into();
        let img = render(&t, 384);
        assert_eq!(img.width(), 384);
        // Nothing is drawn in the outermost columns: the text stayed inside the margins.
        for y in 0..img.height() {
            assert_eq!(img.get_pixel(0, y).0[0], 255, "row {y}");
            assert_eq!(img.get_pixel(383, y).0[0], 255, "row {y}");
        }
    }
}

//! Rendering an app's window to a PNG without a display: a Slint platform whose only window is a
//! software-rendered buffer. The kiosk, counter client and display board share it for their
//! `--snapshot` option.

use std::path::Path;
use std::rc::Rc;

use slint::PhysicalSize;
use slint::Rgb8Pixel;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};

struct Headless {
    window: Rc<MinimalSoftwareWindow>,
    start: std::time::Instant,
}

impl Platform for Headless {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        Ok(self.window.clone())
    }
    fn duration_since_start(&self) -> std::time::Duration {
        self.start.elapsed()
    }
}

/// Installs the headless platform; call before creating any window. Returns the window to draw.
pub fn install(width: u32, height: u32) -> anyhow::Result<Rc<MinimalSoftwareWindow>> {
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    window.set_size(PhysicalSize::new(width, height));
    slint::platform::set_platform(Box::new(Headless {
        window: window.clone(),
        start: std::time::Instant::now(),
    }))
    .map_err(|e| anyhow::anyhow!("cannot set up headless rendering: {e:?}"))?;
    Ok(window)
}

/// Draws the window as it is now and writes it as a PNG.
pub fn write_png(window: &MinimalSoftwareWindow, path: &Path) -> anyhow::Result<()> {
    slint::platform::update_timers_and_animations();
    let size = window.size();
    let (w, h) = (size.width as usize, size.height as usize);
    let mut pixels = vec![Rgb8Pixel { r: 0, g: 0, b: 0 }; w * h];
    window.request_redraw();
    window.draw_if_needed(|renderer| {
        renderer.render(&mut pixels, w);
    });
    let file =
        std::fs::File::create(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), size.width, size.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    let bytes: Vec<u8> = pixels.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
    writer.write_image_data(&bytes)?;
    Ok(())
}

/// Parses a screen size written as `WIDTHxHEIGHT`, e.g. `1920x1080`.
pub fn parse_size(text: &str) -> anyhow::Result<(u32, u32)> {
    text.split_once('x')
        .and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)))
        .filter(|&(w, h): &(u32, u32)| (1..=8192).contains(&w) && (1..=8192).contains(&h))
        .ok_or_else(|| anyhow::anyhow!("a size looks like 1920x1080, not {text:?}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("1920x1080").ok(), Some((1920, 1080)));
        assert!(super::parse_size("1920").is_err());
        assert!(super::parse_size("0x10").is_err());
        assert!(super::parse_size("axb").is_err());
    }
}

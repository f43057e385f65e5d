//! The console's charts, drawn as SVG on the hub by `plotters`: a centre's LAN may have no
//! internet, so no charting script is fetched, and a chart is one image the page embeds (and
//! prints).

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// Width and height of every chart, in SVG pixels (the page scales them).
const SIZE: (u32, u32) = (640, 300);
const ARRIVALS: RGBColor = RGBColor(31, 95, 168);
const SERVED: RGBColor = RGBColor(30, 125, 50);
const LATE: RGBColor = RGBColor(198, 40, 40);

/// Tickets issued and served in each hour of the day (local time), side by side.
pub fn hourly(arrivals: &[u32; 24], served: &[u32; 24], names: (&str, &str)) -> String {
    let mut svg = String::new();
    let first = (0..24).find(|h| arrivals[*h] + served[*h] > 0).unwrap_or(7);
    let last = (0..24)
        .rev()
        .find(|h| arrivals[*h] + served[*h] > 0)
        .unwrap_or(17)
        .max(first);
    let top = arrivals
        .iter()
        .chain(served)
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    'draw: {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let _ = root.fill(&WHITE);
        let chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(40)
            .build_cartesian_2d(first as f64..(last + 1) as f64, 0f64..f64::from(top) * 1.1);
        let Ok(mut chart) = chart else {
            break 'draw;
        };
        let _ = chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(last - first + 2)
            .x_label_formatter(&|h| format!("{}h", *h as u32))
            .y_labels((top as usize + 1).min(11))
            .y_label_formatter(&|n| {
                // Whole tickets only: a tick between two counts has no label.
                if (n - n.round()).abs() < 1e-6 {
                    format!("{n:.0}")
                } else {
                    String::new()
                }
            })
            .light_line_style(WHITE)
            .draw();
        let slot = |values: &[u32; 24]| -> Vec<(f64, f64)> {
            (first..=last)
                .map(|h| (h as f64, f64::from(values[h])))
                .collect()
        };
        paired_bars(&mut chart, [slot(arrivals), slot(served)], names);
        legend(&mut chart);
        let _ = root.present();
    }
    svg_or_empty(svg)
}

/// One service's waits: median and 90th percentile, against its target (minutes).
pub struct ServiceWaits {
    pub name: String,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub target: f64,
}

/// Each service's median and 90th-percentile wait as bars, its target as a red mark.
pub fn waits(services: &[ServiceWaits], names: (&str, &str)) -> String {
    let mut svg = String::new();
    let top = services
        .iter()
        .flat_map(|s| [s.p90.unwrap_or(0.0), s.target])
        .fold(1.0, f64::max);
    let n = services.len().max(1);
    'draw: {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let _ = root.fill(&WHITE);
        let chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(40)
            .build_cartesian_2d(0f64..n as f64, 0f64..top * 1.15);
        let Ok(mut chart) = chart else {
            break 'draw;
        };
        let labels: Vec<String> = services.iter().map(|s| s.name.clone()).collect();
        let _ = chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (x - i as f64 - 0.5).abs() < 0.01 {
                    labels.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|m| format!("{m:.0}′"))
            .light_line_style(WHITE)
            .draw();
        let slot = |pick: fn(&ServiceWaits) -> Option<f64>| -> Vec<(f64, f64)> {
            services
                .iter()
                .enumerate()
                .map(|(i, s)| (i as f64, pick(s).unwrap_or(0.0)))
                .collect()
        };
        paired_bars(&mut chart, [slot(|s| s.p50), slot(|s| s.p90)], names);
        let targets = services.iter().enumerate().map(|(i, s)| {
            let x = i as f64;
            PathElement::new(
                vec![(x + 0.05, s.target), (x + 0.95, s.target)],
                LATE.stroke_width(3),
            )
        });
        let _ = chart.draw_series(targets);
        legend(&mut chart);
        let _ = root.present();
    }
    svg_or_empty(svg)
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Two series as bars side by side in each unit slot starting at its `x` (the first in blue, the
/// second in green), each with its legend entry.
fn paired_bars<'b>(chart: &mut Chart<'b, 'b>, series: [Vec<(f64, f64)>; 2], names: (&str, &str)) {
    let [first, second] = series;
    for (points, colour, offset, name) in [
        (first, ARRIVALS, 0.1, names.0),
        (second, SERVED, 0.5, names.1),
    ] {
        let bars = points.into_iter().map(|(x, v)| {
            let x = x + offset;
            Rectangle::new([(x, 0.0), (x + 0.4, v)], colour.filled())
        });
        if let Ok(drawn) = chart.draw_series(bars) {
            drawn.label(name).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
            });
        }
    }
}

fn legend<'b>(chart: &mut Chart<'b, 'b>) {
    let _ = chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.2))
        .draw();
}

fn svg_or_empty(svg: String) -> String {
    if svg.is_empty() {
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="640" height="300"></svg>"#.into()
    } else {
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_their_bars_and_legends() {
        let mut arrivals = [0u32; 24];
        let mut served = [0u32; 24];
        arrivals[8] = 30;
        arrivals[9] = 12;
        served[9] = 25;
        let svg = hourly(&arrivals, &served, ("Cấp số", "Đã phục vụ"));
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        assert!(svg.contains("Cấp số") && svg.contains("Đã phục vụ"));
        assert!(svg.matches("<rect").count() >= 4, "bars drawn");
        let waits = waits(
            &[ServiceWaits {
                name: "TP".into(),
                p50: Some(12.0),
                p90: Some(31.0),
                target: 30.0,
            }],
            ("P50", "P90"),
        );
        assert!(waits.contains("TP") && waits.contains("P90"));
    }

    #[test]
    fn a_day_with_tickets_only_in_its_last_or_first_hour_is_drawn() {
        for hour in [0, 23] {
            let mut arrivals = [0u32; 24];
            arrivals[hour] = 3;
            let svg = hourly(&arrivals, &[0; 24], ("Cấp số", "Đã phục vụ"));
            assert!(svg.contains(&format!("{hour}h")), "{hour}: {svg}");
        }
        let empty = hourly(&[0; 24], &[0; 24], ("Cấp số", "Đã phục vụ"));
        assert!(empty.starts_with("<svg"));
    }
}

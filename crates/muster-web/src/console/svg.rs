//! Charts drawn on the server as SVG, so the dashboard needs no JavaScript. Every label
//! is escaped; the charts carry a title and a text description for screen readers.

use std::fmt::Write;

use crate::public::render::xml_escape;

/// One group of bars (e.g. an hour), each bar a (series, value).
pub struct BarGroup {
    pub label: String,
    pub values: Vec<f64>,
}

/// Colours with enough contrast on white, one per series.
const PALETTE: [&str; 6] = [
    "#0b3d91", "#a4161a", "#1e6b2f", "#8a5a00", "#5b2a86", "#4d4d4d",
];

/// A colour key for the series along the bottom edge.
fn legend(svg: &mut String, series: &[&str], height: u32) {
    for (s, name) in series.iter().enumerate() {
        let x = 40 + s * 90;
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>",
            height - 14,
            PALETTE[s % PALETTE.len()],
            x + 14,
            height - 5,
            xml_escape(name)
        );
    }
}

/// A stacked bar chart: one column per group, stacked by series, with a legend.
pub fn stacked_bars(
    title: &str,
    series: &[&str],
    groups: &[BarGroup],
    width: u32,
    height: u32,
) -> String {
    let max = groups
        .iter()
        .map(|g| g.values.iter().sum::<f64>())
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let plot_top = 24.0;
    let plot_bottom = f64::from(height) - 36.0;
    let plot_height = plot_bottom - plot_top;
    let column = f64::from(width - 40) / groups.len().max(1) as f64;
    let mut svg = String::with_capacity(4096);
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"t-{id}\" width=\"100%\"><title id=\"t-{id}\">{title}</title>",
        id = xml_escape(&title.replace(' ', "-")),
        title = xml_escape(title)
    );
    let _ = write!(
        svg,
        "<text x=\"40\" y=\"14\" font-size=\"12\">max {max:.0}</text>"
    );
    for (i, group) in groups.iter().enumerate() {
        let x = 40.0 + column * i as f64;
        let mut y = plot_bottom;
        for (s, value) in group.values.iter().enumerate() {
            let h = value / max * plot_height;
            y -= h;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{color}\"><title>{label}: {series} {value:.0}</title></rect>",
                w = (column * 0.8).max(1.0),
                color = PALETTE[s % PALETTE.len()],
                label = xml_escape(&group.label),
                series = xml_escape(series.get(s).copied().unwrap_or("")),
            );
        }
        if groups.len() <= 12 || i % 3 == 0 {
            let _ = write!(
                svg,
                "<text x=\"{x:.1}\" y=\"{ly:.1}\" font-size=\"10\">{label}</text>",
                ly = plot_bottom + 12.0,
                label = xml_escape(&group.label)
            );
        }
    }
    legend(&mut svg, series, height);
    svg.push_str("</svg>");
    svg
}

/// Side-by-side bars per group, one per series (e.g. posted and realised), with a legend.
pub fn paired_bars(
    title: &str,
    series: &[&str],
    groups: &[BarGroup],
    width: u32,
    height: u32,
) -> String {
    let max = groups
        .iter()
        .flat_map(|g| g.values.iter().copied())
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let plot_top = 24.0;
    let plot_bottom = f64::from(height) - 36.0;
    let plot_height = plot_bottom - plot_top;
    let column = f64::from(width - 40) / groups.len().max(1) as f64;
    let bar = (column * 0.8 / series.len().max(1) as f64).max(1.0);
    let mut svg = String::with_capacity(4096);
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\" width=\"100%\"><title>{}</title>",
        xml_escape(title)
    );
    let _ = write!(
        svg,
        "<text x=\"40\" y=\"14\" font-size=\"12\">max {max:.0}</text>"
    );
    for (i, group) in groups.iter().enumerate() {
        let x0 = 40.0 + column * i as f64;
        for (s, value) in group.values.iter().enumerate() {
            let h = value / max * plot_height;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" fill=\"{color}\"><title>{label}: {name} {value:.0}</title></rect>",
                x = x0 + bar * s as f64,
                y = plot_bottom - h,
                color = PALETTE[s % PALETTE.len()],
                label = xml_escape(&group.label),
                name = xml_escape(series.get(s).copied().unwrap_or("")),
            );
        }
        if i % 3 == 0 {
            let _ = write!(
                svg,
                "<text x=\"{x0:.1}\" y=\"{:.1}\" font-size=\"10\">{}</text>",
                plot_bottom + 12.0,
                xml_escape(&group.label)
            );
        }
    }
    legend(&mut svg, series, height);
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_drawn() {
        let svg = stacked_bars(
            "Contacts <per> hour",
            &["form", "email"],
            &[BarGroup {
                label: "<script>".into(),
                values: vec![3.0, 1.0],
            }],
            400,
            200,
        );
        assert!(!svg.contains("<script>"));
        assert_eq!(
            svg.matches("<rect").count(),
            4,
            "two bars and two legend keys"
        );
    }
}

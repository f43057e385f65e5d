//! The pictograms a centre may give its fields (`icon = "…"` in a `[[service]]`): outline icons
//! of Tabler Icons shipped in `assets/icons/tabler/` (MIT). Shared by the hub, which refuses a
//! configuration naming one that does not exist, and the kiosk, which draws them.

macro_rules! pictograms {
    ($($name:literal),* $(,)?) => {
        const FILES: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../assets/icons/tabler/", $name, ".svg")))),*
        ];
    };
}

pictograms!(
    "scale",
    "certificate",
    "car",
    "map-2",
    "briefcase",
    "heart-handshake",
    "crane",
    "building",
    "building-bank",
    "mail",
    "home",
    "id",
    "users",
    "school",
    "file-text",
    "calendar-check",
    "qrcode",
);

/// What a field without a pictogram of its own shows.
pub const DEFAULT: &str = "file-text";

/// The names of every pictogram, for a configuration error to list.
pub fn names() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(name, _)| *name)
}

pub fn exists(name: &str) -> bool {
    FILES.iter().any(|(n, _)| *n == name)
}

/// The pictogram as SVG path commands on a 24×24 view box, to be stroked (2 units wide, round
/// ends): every `<path d="…">` of its file but the invisible bounding box. Read from the files
/// once: a kiosk asks for every tile's at each redraw.
pub fn path_commands(name: &str) -> Option<&'static str> {
    static COMMANDS: std::sync::OnceLock<Vec<(&'static str, String)>> = std::sync::OnceLock::new();
    COMMANDS
        .get_or_init(|| {
            FILES
                .iter()
                .filter_map(|(name, svg)| Some((*name, commands_of(svg)?)))
                .collect()
        })
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, commands)| commands.as_str())
}

fn commands_of(svg: &str) -> Option<String> {
    let paths: Vec<&str> = svg
        .split("<path")
        .skip(1)
        .filter(|element| !element.contains("stroke=\"none\""))
        .filter_map(|element| {
            let start = element.find(" d=\"")? + 4;
            let length = element.get(start..)?.find('"')?;
            element.get(start..start + length)
        })
        .collect();
    (!paths.is_empty()).then(|| paths.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pictogram_has_paths_and_the_default_exists() {
        for name in names() {
            let commands = path_commands(name).unwrap_or_default();
            assert!(commands.starts_with('M'), "{name}: {commands}");
            assert!(
                !commands.contains("h24v24H0z"),
                "{name}: the bounding box is left out"
            );
        }
        assert!(exists(DEFAULT));
        assert!(!exists("rocket"));
        assert_eq!(path_commands("rocket"), None);
        assert_eq!(
            path_commands("mail"),
            Some(
                "M3 7a2 2 0 0 1 2 -2h14a2 2 0 0 1 2 2v10a2 2 0 0 1 -2 2h-14a2 2 0 0 1 -2 -2v-10z M3 7l9 6l9 -6"
            )
        );
    }
}

//! The last counter and staff code used on this PC, so a clerk's login is one PIN away. Never the
//! PIN. One line, `counter staff`, in a small file.

use std::path::{Path, PathBuf};

/// The default place: `~/.config/hang-doi/<device>.last`.
pub fn default_path(device: &str) -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| {
        PathBuf::from(h)
            .join(".config/hang-doi")
            .join(format!("{device}.last"))
    })
}

/// The remembered counter and staff code, if the file is there and readable.
pub fn read(path: &Path) -> Option<(u32, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut parts = text.split_whitespace();
    let counter = parts.next()?.parse().ok()?;
    let staff = parts
        .next()?
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    Some((counter, staff))
}

/// Remembers a login; a failure is logged and otherwise harmless.
pub fn write(path: &Path, counter: u32, staff: &str) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = std::fs::write(path, format!("{counter} {staff}\n")) {
        tracing::warn!(error = %e, "cannot remember the counter");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_login_is_remembered_and_read_back_safely() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("sub/counter-1.last");
        super::write(&path, 3, "nv03");
        assert_eq!(super::read(&path), Some((3, "nv03".to_string())));
        std::fs::write(&path, "2 nv0\u{1b}[31m2\n").expect("write");
        assert_eq!(
            super::read(&path),
            Some((2, "nv031m2".to_string())),
            "no control characters"
        );
        std::fs::write(&path, "garbage").expect("write");
        assert_eq!(super::read(&path), None);
    }
}

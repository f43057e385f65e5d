use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    // Debug info lets the UI tests find elements by id and accessible label.
    let config = slint_build::CompilerConfiguration::new().with_debug_info(true);
    if let Err(e) = slint_build::compile_with_config("ui/index.slint", config) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    embed_voice_clips();
}

/// Embeds every clip of assets/voice/vi so the board speaks wherever its binary is copied.
fn embed_voice_clips() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/voice/vi");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut entries: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .map(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "wav"))
                .filter_map(|p| Some((p.file_stem()?.to_str()?.to_string(), p)))
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    let mut code = String::from("pub(crate) static EMBEDDED: &[(&str, &[u8])] = &[\n");
    for (name, path) in entries {
        let path = path.canonicalize().unwrap_or(path);
        let _ = writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("voice_clips.rs");
    if let Err(e) = std::fs::write(&out, code) {
        eprintln!("writing {}: {e}", out.display());
        std::process::exit(1);
    }
}

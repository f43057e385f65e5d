fn main() {
    // Debug info lets the UI tests find elements by id and accessible label.
    let config = slint_build::CompilerConfiguration::new().with_debug_info(true);
    if let Err(e) = slint_build::compile_with_config("ui/index.slint", config) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}

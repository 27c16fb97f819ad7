// The locale files are compiled into the binary (fluent-templates' `static_loader!`), and the
// templates by askama with askama.toml's settings; rebuild when one changes.
fn main() {
    println!("cargo:rerun-if-changed=locales");
    // askama reads its whitespace setting from here when it compiles the templates.
    println!("cargo:rerun-if-changed=askama.toml");
}

//! The README's axum program is `examples/axum_app.rs`, which CI compiles:
//! the two must hold the same code.

#[test]
fn the_readme_holds_the_compiled_axum_program() {
    let readme = include_str!("../../README.md");
    let example = include_str!("../examples/axum_app.rs");
    let code: String = example
        .lines()
        .filter(|line| !line.starts_with("//!"))
        .map(|line| format!("{line}\n"))
        .collect();
    let block = format!("```rust,no_run\n{code}```\n");
    assert!(
        readme.contains(&block),
        "README.md's \"In your own axum app\" block differs from inbox/examples/axum_app.rs: copy the example's code (without its //! lines) into it"
    );
}

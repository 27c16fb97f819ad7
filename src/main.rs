use tracing_subscriber::EnvFilter;

/// Thin: logging, then the command line (`modelscope_balance::cli`) decides what to run.
fn main() -> std::process::ExitCode {
    // Logs carry counts and durations only; keys never reach a log line.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_target(false)
        .init();
    modelscope_balance::cli::run(std::env::args_os().skip(1))
}

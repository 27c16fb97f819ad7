use tracing_subscriber::EnvFilter;

#[rocket::main]
async fn main() -> std::process::ExitCode {
    // Logs carry counts and durations only; keys never reach a log line.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_target(false)
        .init();
    match modelscope_balance::rocket().launch().await {
        Ok(_) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("modelscope-balance stopped: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

// Many small allocations per request (HTTP exchanges, JSON); mimalloc spends a fraction of
// glibc malloc's time on them (bench/results/latest.md, scenario A).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Thin: logging, then the command line (`modelscope_balance::cli`) decides what to run.
fn main() -> std::process::ExitCode {
    // Logs carry counts and durations only; keys never reach a log line, at any level.
    let format = modelscope_balance::config::LogFormat::configured(&modelscope_balance::figment());
    modelscope_balance::logging::init(format);
    modelscope_balance::cli::run(std::env::args_os().skip(1))
}

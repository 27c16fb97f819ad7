//! The command line: no arguments serves the app; `rotate-master-key` replaces the master key
//! and re-encrypts every saved API key (run it while the server is stopped); `backup` and
//! `restore` copy the database out and in (`ops::backup`); `healthcheck` asks a running
//! server's `/health` (for containers).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::AppConfig;
use crate::db::Db;
use crate::ops::{backup, healthcheck};

mod rotate;

pub use rotate::{
    Rotation, rotate_master_key, rotate_master_key_labelled, run_rotation, utc_label,
};

pub const USAGE: &str = "\
modelscope-balance: ModelScope API-Inference quota and balance checker

Usage:
  modelscope-balance                      start the web server
  modelscope-balance rotate-master-key    write a new master key file and re-encrypt every
                                          saved API key with it, in one transaction; the old
                                          key file is kept as master_key_file.<UTC time>.bak
  modelscope-balance backup <file>        copy the database to <file> (a new file), while the
                                          server runs; the master key file is not in it:
                                          back it up too
  modelscope-balance restore <file>       replace the database with the backup <file> (the
                                          server must be stopped; the old database is kept)
  modelscope-balance healthcheck          exit 0 if the configured server answers GET /health
  modelscope-balance admin list           list the accounts: admin, disabled, name
  modelscope-balance admin grant <name>   make the account an admin (works while the server
                                          runs; the way back in)
  modelscope-balance admin revoke <name>  take admin away (never from the last admin)
  modelscope-balance admin invite [days]  print a one-time invitation link to sign up (default
                                          invitation_days; works in invitation-only mode,
                                          also for an instance's first account)
  modelscope-balance admin reset-link <name>
                                          print a one-time password-reset link for the
                                          account (valid for an hour; hand it over yourself)
  modelscope-balance admin two-factor-off <name>
                                          turn the account's two-factor sign-in off (a lost
                                          phone and lost recovery codes)
  modelscope-balance --help | -h          show this text

Configuration comes from built-in defaults, Rocket.toml (ROCKET_CONFIG names another file) and
ROCKET_* environment variables (e.g. ROCKET_DATA_DIR), the same for every command. Run the
commands as the user the server runs as. Stop the server before rotate-master-key and restore,
and start it again after.
";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Serve,
    RotateMasterKey,
    Backup(PathBuf),
    Restore(PathBuf),
    Healthcheck,
    Admin(AdminCommand),
    Help,
}

/// `admin …`: accounts and admins, from the server's own machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCommand {
    List,
    Grant(String),
    Revoke(String),
    ResetLink(String),
    Invite(Option<u32>),
    TwoFactorOff(String),
}

/// `Err` carries the offending argument, for the usage message.
pub fn parse<I, A>(args: I) -> Result<Command, String>
where
    I: IntoIterator<Item = A>,
    A: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    match args.as_slice() {
        [] => Ok(Command::Serve),
        [one] if one == "rotate-master-key" => Ok(Command::RotateMasterKey),
        [one] if one == "healthcheck" => Ok(Command::Healthcheck),
        [one] if one == "--help" || one == "-h" => Ok(Command::Help),
        [command, file] if command == "backup" || command == "restore" => {
            if file.is_empty() || file.to_string_lossy().starts_with('-') {
                return Err(format!(
                    "{} takes a file name, got {:?}",
                    command.to_string_lossy(),
                    file.to_string_lossy()
                ));
            }
            let file = PathBuf::from(file);
            Ok(if command == "backup" {
                Command::Backup(file)
            } else {
                Command::Restore(file)
            })
        }
        [admin, rest @ ..] if admin == "admin" => parse_admin(rest).map(Command::Admin),
        [one] if one == "backup" || one == "restore" => {
            Err(format!("{} needs a file name", one.to_string_lossy()))
        }
        [first, second, ..] if first == "rotate-master-key" || first == "healthcheck" => {
            Err(format!(
                "{} takes no arguments, got {:?}",
                first.to_string_lossy(),
                second.to_string_lossy()
            ))
        }
        [first, ..] => Err(format!("unknown argument {:?}", first.to_string_lossy())),
    }
}

fn parse_admin(args: &[OsString]) -> Result<AdminCommand, String> {
    let text: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match text
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["list"] => Ok(AdminCommand::List),
        ["grant", name] => Ok(AdminCommand::Grant((*name).to_owned())),
        ["revoke", name] => Ok(AdminCommand::Revoke((*name).to_owned())),
        ["reset-link", name] => Ok(AdminCommand::ResetLink((*name).to_owned())),
        ["two-factor-off", name] => Ok(AdminCommand::TwoFactorOff((*name).to_owned())),
        ["invite"] => Ok(AdminCommand::Invite(None)),
        ["invite", days] => match days.parse::<u32>() {
            Ok(days) if (1..=365).contains(&days) => Ok(AdminCommand::Invite(Some(days))),
            _ => Err(format!(
                "admin invite takes a number of days from 1 to 365, got {days:?}"
            )),
        },
        ["grant" | "revoke" | "reset-link" | "two-factor-off"] => Err(
            "admin grant, revoke, reset-link and two-factor-off take one account name".to_owned(),
        ),
        _ => Err(
            "admin takes list, grant <name>, revoke <name>, reset-link <name>, \
                  two-factor-off <name> or invite [days]"
                .to_owned(),
        ),
    }
}

/// The whole program after logging is set up: `args` excludes the program name.
pub fn run<I, A>(args: I) -> ExitCode
where
    I: IntoIterator<Item = A>,
    A: Into<OsString>,
{
    match parse(args) {
        Ok(Command::Serve) => serve(),
        Ok(Command::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::RotateMasterKey) => {
            let stdout = std::io::stdout();
            let stderr = std::io::stderr();
            run_rotation(&crate::figment(), &mut stdout.lock(), &mut stderr.lock())
        }
        Ok(Command::Backup(file)) => report(
            "backup",
            configured()
                .and_then(|config| backup::backup(&config, &file).map(|report| report.to_string())),
        ),
        Ok(Command::Restore(file)) => report(
            "restore",
            configured().and_then(|config| {
                backup::restore(&config, &file, &utc_label()).map(|report| report.to_string())
            }),
        ),
        Ok(Command::Healthcheck) => report("healthcheck", healthcheck::check(&crate::figment())),
        Ok(Command::Admin(command)) => report(
            "admin",
            configured().and_then(|config| run_admin(&config, &command)),
        ),
        Err(problem) => {
            eprintln!("modelscope-balance: {problem}\n");
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Serves until SIGTERM or Ctrl-C, then shuts down gracefully (`ops::shutdown`): exit 0.
fn serve() -> ExitCode {
    let rocket = crate::rocket().manage(crate::ops::shutdown::Linger::SERVER);
    match rocket::execute(rocket.launch()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("modelscope-balance stopped: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The configuration exactly as the server reads it.
fn configured() -> Result<AppConfig, String> {
    AppConfig::load(&crate::figment()).map_err(|e| e.to_string())
}

/// Runs an `admin` command on the configured database (a running server is no obstacle: it
/// reads the change on its next request).
pub fn run_admin(config: &AppConfig, command: &AdminCommand) -> Result<String, String> {
    use crate::auth::admin::{self, AdminError};
    let path = config.database_path();
    if !path.exists() {
        return Err(format!(
            "no database at {} (check data_dir and database_path; the server creates it on its \
             first start)",
            path.display()
        ));
    }
    let db = Db::open(&path).map_err(|e| e.to_string())?;
    let mut conn = db.connection().map_err(|e| e.to_string())?;
    let said = |error: AdminError, name: &str| match error {
        AdminError::NotFound => format!("there is no account named {name:?}"),
        AdminError::LastAdmin => {
            format!("{name} is the last admin; grant another account admin first")
        }
        AdminError::Db(error) => error.to_string(),
    };
    match command {
        AdminCommand::List => {
            let users = admin::list(&conn).map_err(|e| said(e, ""))?;
            let mut text = format!("{} account{}", users.len(), plural(users.len()));
            for user in users {
                text.push_str(&format!(
                    "\n{:<6} {:<9} {}",
                    if user.is_admin { "admin" } else { "-" },
                    if user.disabled { "disabled" } else { "-" },
                    user.username
                ));
            }
            Ok(text)
        }
        AdminCommand::Grant(name) => match admin::grant(&mut conn, name) {
            Ok(true) => Ok(format!("{name} is now an admin.")),
            Ok(false) => Ok(format!("{name} was an admin already.")),
            Err(error) => Err(said(error, name)),
        },
        AdminCommand::Revoke(name) => match admin::revoke(&mut conn, name) {
            Ok(true) => Ok(format!("{name} is no longer an admin.")),
            Ok(false) => Ok(format!("{name} was not an admin.")),
            Err(error) => Err(said(error, name)),
        },
        AdminCommand::Invite(days) => {
            let days = days.unwrap_or(config.invitation_days);
            let code =
                crate::auth::signup::invite_on(&conn, None, days).map_err(|e| e.to_string())?;
            let base = config.public_url.as_deref().unwrap_or("http://<this site>");
            Ok(format!(
                "A one-time invitation to sign up, valid for {days} day{} (sign-up mode: \
                 invitation only, or open); it is shown only here:\n{base}{}",
                plural(days as usize),
                crate::auth::signup::invitation_path(&code)
            ))
        }
        AdminCommand::TwoFactorOff(name) => {
            match crate::auth::two_factor::turn_off_for(&conn, name).map_err(|e| e.to_string())? {
                Some((name, true)) => Ok(format!("Two-factor sign-in is now off for {name}.")),
                Some((name, false)) => Ok(format!("{name} had no two-factor sign-in.")),
                None => Err(said(AdminError::NotFound, name)),
            }
        }
        AdminCommand::ResetLink(name) => {
            let code = admin::reset_link_for(&conn, name).map_err(|e| said(e, name))?;
            let base = config.public_url.as_deref().unwrap_or("http://<this site>");
            Ok(format!(
                "A one-time password-reset link for {name}, valid for an hour (a new one \
                 replaces it); hand it over yourself, it is shown only here:\n{base}{}{code}",
                crate::auth::password_reset::PATH
            ))
        }
    }
}

/// The plural ending of a count in the reports.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Prints a command's outcome: the report on stdout (0), or the problem on stderr (1).
fn report(command: &str, outcome: Result<String, String>) -> ExitCode {
    match outcome {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("modelscope-balance {command}: {problem}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!(parse(Vec::<String>::new()), Ok(Command::Serve));
        assert_eq!(parse(["rotate-master-key"]), Ok(Command::RotateMasterKey));
        assert_eq!(parse(["--help"]), Ok(Command::Help));
        assert_eq!(parse(["-h"]), Ok(Command::Help));
        assert!(parse(["serve-please"]).is_err());
        assert!(parse(["rotate-master-key", "now"]).is_err());
        assert!(parse(["--rotate-master-key"]).is_err());
        assert_eq!(
            parse(["backup", "/tmp/b.db"]),
            Ok(Command::Backup(PathBuf::from("/tmp/b.db")))
        );
        assert_eq!(
            parse(["restore", "b.db"]),
            Ok(Command::Restore(PathBuf::from("b.db")))
        );
        assert!(parse(["backup"]).is_err());
        assert!(parse(["backup", "--force"]).is_err());
        assert!(parse(["backup", "a", "b"]).is_err());
        assert_eq!(parse(["healthcheck"]), Ok(Command::Healthcheck));
        assert!(parse(["healthcheck", "now"]).is_err());
        assert_eq!(
            parse(["admin", "grant", "alice"]),
            Ok(Command::Admin(AdminCommand::Grant("alice".into())))
        );
        assert_eq!(
            parse(["admin", "list"]),
            Ok(Command::Admin(AdminCommand::List))
        );
        assert!(parse(["admin"]).is_err());
        assert!(parse(["admin", "grant"]).is_err());
        assert!(parse(["admin", "grant", "a", "b"]).is_err());
    }
}

//! The `loaxa` command line: parse arguments, call into the library, map to exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;
use clap::{Parser, Subcommand};

use loaxa::commands::{self, plan, EXIT_INVALID};
use loaxa::local;

#[derive(Parser)]
#[command(
    name = "loaxa",
    version,
    about = "Commune loudspeaker playout daemon (loa xã)"
)]
struct Cli {
    /// The station's configuration file.
    #[arg(
        long,
        short,
        global = true,
        env = "LOAXA_CONFIG",
        default_value = "schedule.yaml"
    )]
    config: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate schedule.yaml and the files it names; print the next airing.
    Check,
    /// Show the coming airings and what each would air.
    Plan {
        /// Start (local time): 2026-12-01 or 2026-12-01T05:30. Default: now.
        #[arg(long)]
        from: Option<String>,
        /// How many days to show (default 7).
        #[arg(long, conflicts_with = "until")]
        days: Option<u32>,
        /// End (local time) instead of --days.
        #[arg(long)]
        until: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: plan::Format,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let now = Utc::now();
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    let code = match cli.command {
        Command::Check => commands::check_cmd(&cli.config, now, &mut out, &mut err),
        Command::Plan {
            from,
            days,
            until,
            format,
        } => (|| {
            let Some(config) = commands::load_checked(&cli.config, now, &mut err, false) else {
                return EXIT_INVALID;
            };
            let tz = config.station.timezone;
            let parse =
                |s: &str, what: &str, err: &mut dyn Write| match local::parse_datetime(s, tz) {
                    Ok(t) => Some(t),
                    Err(e) => {
                        let _ = writeln!(err, "error: --{what}: {e}");
                        None
                    }
                };
            let from = match from {
                Some(s) => match parse(&s, "from", &mut err) {
                    Some(t) => t,
                    None => return EXIT_INVALID,
                },
                None => now,
            };
            let until = match until {
                Some(s) => match parse(&s, "until", &mut err) {
                    Some(t) => t,
                    None => return EXIT_INVALID,
                },
                None => from + chrono::Duration::days(days.unwrap_or(7) as i64),
            };
            if until <= from {
                let _ = writeln!(err, "error: the end of the plan is not after its start — give a later --until or a positive --days");
                return EXIT_INVALID;
            }
            match plan::print(
                &config,
                from,
                until,
                &[],
                &Default::default(),
                format,
                &mut out,
            ) {
                Ok(()) => commands::EXIT_OK,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => commands::EXIT_OK,
                Err(e) => {
                    let _ = writeln!(err, "error: {e}");
                    EXIT_INVALID
                }
            }
        })(),
    };
    let _ = out.flush();
    ExitCode::from(code as u8)
}

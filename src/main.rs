//! The `loaxa` command line: parse arguments, call into the library, map to exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;
use clap::{Parser, Subcommand};

use loaxa::airtime::{export, report};
use loaxa::commands::{self, airtime, plan, EXIT_INVALID};

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
    /// List every file in the hot folders with its state (ready, settling, rejected…).
    Library {
        /// Only this category.
        #[arg(long)]
        category: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: commands::library::Format,
        /// Measure loudness and exact length now for files not yet analysed.
        #[arg(long)]
        analyse: bool,
    },
    /// Export the airtime log (default: this month) as CSV, JSON lines or XLSX.
    Export {
        /// First day (or date-time), local: 2026-11-01.
        #[arg(long)]
        from: Option<String>,
        /// Last day, inclusive (or an exact end date-time).
        #[arg(long)]
        to: Option<String>,
        /// Only this category.
        #[arg(long)]
        category: Option<String>,
        #[arg(long, value_enum, default_value = "csv")]
        format: export::Format,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Language of the CSV/XLSX headers and labels.
        #[arg(long, value_enum, default_value = "vi")]
        lang: export::Lang,
        /// Read this log instead of the station's live one.
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// The month's report against the plan's targets (Vietnamese).
    Report {
        /// The month, YYYY-MM (default: this month).
        #[arg(long)]
        month: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: report::Format,
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// The latest airings.
    Log {
        /// How many to show.
        #[arg(long, default_value_t = 20)]
        tail: usize,
        /// Keep watching and print airings as they start and end.
        #[arg(long, short)]
        follow: bool,
        #[arg(long)]
        db: Option<PathBuf>,
    },
}

/// Loads the config for commands that only read it (no schedule-wide checks).
fn config(path: &std::path::Path, err: &mut dyn Write) -> Option<loaxa::config::Config> {
    match loaxa::config::load(path) {
        Ok(l) => Some(l.config),
        Err(d) => {
            commands::print_diags(&d, err);
            None
        }
    }
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
        } => commands::plan::plan_cmd(
            &cli.config,
            from.as_deref(),
            days,
            until.as_deref(),
            format,
            now,
            &mut out,
            &mut err,
        ),
        Command::Export {
            from,
            to,
            category,
            format,
            output,
            lang,
            db,
        } => match config(&cli.config, &mut err) {
            None => EXIT_INVALID,
            Some(c) => airtime::export_cmd(
                &c,
                airtime::ExportArgs {
                    from,
                    to,
                    category,
                    format,
                    output,
                    lang,
                    db,
                },
                now,
                &mut out,
                &mut err,
            ),
        },
        Command::Report {
            month,
            format,
            output,
            db,
        } => match config(&cli.config, &mut err) {
            None => EXIT_INVALID,
            Some(c) => airtime::report_cmd(
                &c,
                airtime::ReportArgs {
                    month,
                    format,
                    output,
                    db,
                },
                now,
                &mut out,
                &mut err,
            ),
        },
        Command::Library {
            category,
            format,
            analyse,
        } => match config(&cli.config, &mut err) {
            None => EXIT_INVALID,
            Some(c) => commands::library::library_cmd(
                &c,
                category.as_deref(),
                format,
                analyse,
                now,
                &mut out,
                &mut err,
            ),
        },
        Command::Log { tail, follow, db } => match config(&cli.config, &mut err) {
            None => EXIT_INVALID,
            Some(c) => airtime::log_cmd(&c, tail, follow, db.as_deref(), &mut out, &mut err),
        },
    };
    let _ = out.flush();
    ExitCode::from(code as u8)
}

//! The `loaxa` command line: parse arguments, call into the library, map to exit codes.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;
use clap::{Parser, Subcommand};

use loaxa::commands::{self, airtime, EXIT_INVALID};
use loaxa::control::Command as Cmd;

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

    /// Log detail: error, warn, info, debug, trace (or a RUST_LOG filter).
    #[arg(long, global = true, env = "LOAXA_LOG")]
    log_level: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: air the schedule until stopped (SIGTERM/SIGINT; SIGHUP reloads).
    Run {
        /// Output: `default`, a device from `loaxa devices`, `wav:FILE` or `null`.
        #[arg(long)]
        output: Option<String>,
        /// Air the first programme right away (to hear that everything works).
        #[arg(long)]
        demo: bool,
    },
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
        format: commands::Format,
    },
    /// Run the schedule on a simulated clock (a month in seconds) into a separate log.
    Simulate {
        /// First day (local): 2026-12-01.
        #[arg(long)]
        from: String,
        /// How many days.
        #[arg(long, default_value_t = 30, conflicts_with = "until")]
        days: u32,
        /// End (local time, or RFC 3339) instead of --days.
        #[arg(long)]
        until: Option<String>,
        /// The log to write (default: a new file under STATE/simulations/).
        #[arg(long)]
        db: Option<PathBuf>,
        /// `null` (default) or `wav:FILE` to render what would air.
        #[arg(long, default_value = "null")]
        output: String,
    },
    /// List every file in the hot folders with its state (ready, settling, rejected…).
    Library {
        /// Only this category.
        #[arg(long)]
        category: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: commands::Format,
        /// Measure loudness and exact length now for files not yet analysed.
        #[arg(long)]
        analyse: bool,
    },
    /// What airs now, what comes next, the library, the last error (asks the daemon).
    Status {
        /// `text` for a person, `json` for a program (the typed status; see the technician
        /// guide).
        #[arg(long, value_enum, default_value = "text")]
        format: commands::Format,
        /// Same as `--format json`.
        #[arg(long, hide = true)]
        json: bool,
    },
    /// Play a library item or a category's pick now (after the programme on air), or as an
    /// emergency. A file outside the audio folder is copied into audio/phat-ngay/ first.
    Play {
        file: Option<PathBuf>,
        #[arg(long, conflicts_with = "file")]
        category: Option<String>,
        /// Interrupt whatever airs, with the alert tone, repeating as configured.
        #[arg(long)]
        emergency: bool,
        /// Air a capture device live (microphone or line-in; `default` if no name is given):
        /// now if what airs has a lower priority, else after it; ends after --for or `stop`.
        #[arg(long, num_args = 0..=1, default_missing_value = "default", conflicts_with_all = ["file", "category", "emergency"])]
        live: Option<String>,
        /// How long the live input airs (default 30m).
        #[arg(long = "for", requires = "live", value_parser = humantime::parse_duration)]
        for_: Option<std::time::Duration>,
        /// The live input's priority: `priority` (ưu tiên, the default: cuts normal
        /// programmes) or `normal` (waits for what is on air).
        #[arg(long, requires = "live", default_value = "priority")]
        priority: String,
    },
    /// End the item on air; the programme goes on with the next.
    Skip,
    /// End the programme on air.
    Stop,
    /// Re-read schedule.yaml (an invalid one is refused and the old one keeps running).
    Reload,
    /// List the sound devices, marking the default.
    Devices,
    /// Set up a station in DIR: schedule.yaml, category folders with guides, jingles.
    Init {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Put the audio folders here (absolute) instead of DIR/audio.
        #[arg(long)]
        audio: Option<PathBuf>,
        /// Put the state folder here (absolute) instead of DIR/state.
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Check the station: config, folders, audio device, disk, clock, daemon, database.
    Doctor {
        /// Also play a short test tone on the output.
        #[arg(long)]
        tone: bool,
    },
    /// Export the airtime log (default: this month) as CSV, JSON lines or XLSX.
    Export(airtime::ExportArgs),
    /// The month's report against the plan's targets (Vietnamese).
    Report(airtime::ReportArgs),
    /// The accounts of the web console and the API.
    #[command(subcommand)]
    User(commands::access::UserCmd),
    /// API tokens for programs (the provincial system's adapter, scripts).
    #[command(subcommand)]
    Token(commands::access::TokenCmd),
    /// Who did what, from where, and how it ended (web, API, command line).
    Audit {
        /// How many days back.
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long, value_enum, default_value = "text")]
        format: commands::Format,
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

/// One readable line per event on stderr; no colours unless on a terminal; no timestamp
/// under systemd (the journal adds its own).
fn init_logging(level: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let given = level
        .map(str::to_string)
        .or_else(|| std::env::var("RUST_LOG").ok());
    let mut filter = match &given {
        Some(l) => EnvFilter::try_new(l).unwrap_or_else(|_| EnvFilter::new("info")),
        None => EnvFilter::new("info"),
    };
    // The decoders' own messages ("probe reach EOF", "mpa: invalid main_data offset") are
    // not the technician's: loaxa reports what failed, once, in its own words. A filter
    // that names them still shows them.
    if !given.as_deref().unwrap_or("").contains("symphonia") {
        for c in [
            "symphonia_core",
            "symphonia_bundle_mp3",
            "symphonia_codec_aac",
            "symphonia_codec_vorbis",
            "symphonia_codec_pcm",
            "symphonia_format_ogg",
            "symphonia_format_riff",
            "symphonia_format_isomp4",
            "symphonia_format_mkv",
            "symphonia_bundle_flac",
        ] {
            if let Ok(d) = format!("{c}=off").parse() {
                filter = filter.add_directive(d);
            }
        }
    }
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        b.without_time().init();
    } else {
        b.init();
    }
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
    init_logging(cli.log_level.as_deref());
    let now = Utc::now();
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr());
    let cfg = &cli.config;
    let code = match cli.command {
        Command::Run { output, demo } => {
            drop(out);
            let code = loaxa::daemon::run(loaxa::daemon::Options {
                config: cfg.clone(),
                output,
                demo,
            });
            return ExitCode::from(code as u8);
        }
        Command::Check => commands::check_cmd(cfg, now, &mut out, &mut err),
        Command::Plan {
            from,
            days,
            until,
            format,
        } => commands::plan::plan_cmd(
            cfg,
            from.as_deref(),
            days,
            until.as_deref(),
            format,
            now,
            &mut out,
            &mut err,
        ),
        Command::Simulate {
            from,
            days,
            until,
            db,
            output,
        } => commands::simulate_cmd(
            cfg,
            &from,
            days,
            until.as_deref(),
            db,
            &output,
            now,
            &mut out,
            &mut err,
        ),
        Command::Library {
            category,
            format,
            analyse,
        } => match config(cfg, &mut err) {
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
        // The control commands need only the state folder: they work while the config on
        // disk has errors (the daemon runs the last good one).
        Command::Status { format, json } => {
            let state = loaxa::config::state_dir(cfg);
            let format = if json { commands::Format::Json } else { format };
            commands::control::send(&state, Cmd::Status, format, &mut out, &mut err)
        }
        Command::Play {
            live: Some(device),
            for_,
            priority,
            ..
        } => {
            let priority = match serde_yaml::from_str::<loaxa::config::Priority>(&priority) {
                Ok(p) => p,
                Err(_) => {
                    let _ = writeln!(
                        err,
                        "error: `--priority {priority}` — write `priority` or `normal`"
                    );
                    return ExitCode::from(EXIT_INVALID as u8);
                }
            };
            commands::control::send(
                &loaxa::config::state_dir(cfg),
                Cmd::Live {
                    device,
                    for_s: for_.map(|d| d.as_secs().max(1)),
                    priority,
                },
                commands::Format::Text,
                &mut out,
                &mut err,
            )
        }
        Command::Play {
            file,
            category,
            emergency,
            ..
        } => {
            let state = loaxa::config::state_dir(cfg);
            commands::control::play(
                &loaxa::config::audio_dir(cfg),
                &state,
                file.as_deref(),
                category,
                emergency,
                &mut out,
                &mut err,
            )
        }
        Command::Skip | Command::Stop | Command::Reload => {
            let req = match cli.command {
                Command::Skip => Cmd::Skip,
                Command::Stop => Cmd::Stop,
                _ => Cmd::Reload,
            };
            commands::control::send(
                &loaxa::config::state_dir(cfg),
                req,
                commands::Format::Text,
                &mut out,
                &mut err,
            )
        }
        Command::Devices => commands::control::devices(&mut out, &mut err),
        Command::Init { dir, audio, state } => {
            commands::init::init_cmd(&dir, audio.as_deref(), state.as_deref(), &mut out, &mut err)
        }
        Command::Doctor { tone } => commands::doctor::doctor_cmd(cfg, tone, &mut out),
        Command::Export(args) => match config(cfg, &mut err) {
            None => EXIT_INVALID,
            Some(c) => airtime::export_cmd(&c, args, now, &mut out, &mut err),
        },
        Command::Report(args) => match config(cfg, &mut err) {
            None => EXIT_INVALID,
            Some(c) => airtime::report_cmd(&c, args, now, &mut out, &mut err),
        },
        Command::User(c) => match config(cfg, &mut err) {
            None => EXIT_INVALID,
            Some(conf) => commands::access::user_cmd(&conf, c, now, &mut out, &mut err),
        },
        Command::Token(c) => match config(cfg, &mut err) {
            None => EXIT_INVALID,
            Some(conf) => commands::access::token_cmd(&conf, c, now, &mut out, &mut err),
        },
        Command::Audit { days, format } => match config(cfg, &mut err) {
            None => EXIT_INVALID,
            Some(conf) => commands::access::audit_cmd(&conf, days, format, now, &mut out, &mut err),
        },
        Command::Log { tail, follow, db } => match config(cfg, &mut err) {
            None => EXIT_INVALID,
            Some(c) => airtime::log_cmd(&c, tail, follow, db.as_deref(), &mut out, &mut err),
        },
    };
    let _ = out.flush();
    ExitCode::from(code as u8)
}

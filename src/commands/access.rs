//! `loaxa user …`, `loaxa token …`, `loaxa audit`: the accounts of the console and the
//! API, and the audit trail. They write the station's database directly, so they work
//! whether the daemon runs or not (it reads the accounts at each login).

use std::io::{BufRead, Write};

use chrono::{DateTime, Utc};

use super::{Format, EXIT_INVALID, EXIT_OK};
use crate::access::{local_user, Access, AuditEntry, Role};
use crate::config::Config;

#[derive(clap::Subcommand)]
pub enum UserCmd {
    /// Add an account: `echo 'MẬT-KHẨU' | loaxa user add lan --role operator --password-stdin`.
    Add {
        name: String,
        /// admin, approver, operator or viewer.
        #[arg(long)]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts and their roles.
    List {
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Remove an account (its sessions end at their next request).
    Remove { name: String },
    /// Set a new password, read from standard input.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(clap::Subcommand)]
pub enum TokenCmd {
    /// Make an API token for a program (the provincial system's adapter, a script); its
    /// secret is printed once.
    Add {
        name: String,
        /// What the token may do (default operator: post bulletins, play).
        #[arg(long, default_value = "operator")]
        role: String,
    },
    List,
    Remove {
        name: String,
    },
}

fn open(config: &Config, err: &mut dyn Write) -> Option<Access> {
    match Access::open(&crate::airtime::live_path(config)) {
        Ok(a) => Some(a),
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            None
        }
    }
}

fn password(stdin: bool, err: &mut dyn Write) -> Option<String> {
    if !stdin {
        let _ = writeln!(
            err,
            "error: give the password on standard input with --password-stdin (it never goes on the command line, where other users could see it)"
        );
        return None;
    }
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() || line.trim().is_empty() {
        let _ = writeln!(err, "error: no password on standard input");
        return None;
    }
    Some(line.trim_end_matches(['\r', '\n']).to_string())
}

fn audit(a: &Access, action: &str, target: &str, outcome: &str, now: DateTime<Utc>) {
    let _ = a.record(&AuditEntry {
        at: now,
        who: local_user(),
        via: "cli".into(),
        address: None,
        action: action.into(),
        target: Some(target.into()),
        outcome: outcome.into(),
    });
}

/// Runs `op`, audits it as `action` on `target`, prints `done` or the error.
fn audited(
    a: &Access,
    action: &str,
    target: &str,
    now: DateTime<Utc>,
    op: impl FnOnce() -> Result<String, crate::access::Error>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match op() {
        Ok(done) => {
            audit(a, action, target, "ok", now);
            let _ = writeln!(out, "{done}");
            EXIT_OK
        }
        Err(e) => {
            audit(a, action, target, "refused", now);
            let _ = writeln!(err, "error: {e}");
            EXIT_INVALID
        }
    }
}

pub fn user_cmd(
    config: &Config,
    cmd: UserCmd,
    now: DateTime<Utc>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(a) = open(config, err) else {
        return EXIT_INVALID;
    };
    match cmd {
        UserCmd::Add {
            name,
            role,
            password_stdin,
        } => {
            let role = match Role::parse(&role) {
                Ok(r) => r,
                Err(e) => {
                    let _ = writeln!(err, "error: {e}");
                    return EXIT_INVALID;
                }
            };
            let Some(p) = password(password_stdin, err) else {
                return EXIT_INVALID;
            };
            audited(
                &a,
                "user.add",
                &name,
                now,
                || {
                    a.add_user(&name, role, &p, now)
                        .map(|()| format!("added {name} ({})", role.as_str()))
                },
                out,
                err,
            )
        }
        UserCmd::Passwd {
            name,
            password_stdin,
        } => {
            let Some(p) = password(password_stdin, err) else {
                return EXIT_INVALID;
            };
            audited(
                &a,
                "user.passwd",
                &name,
                now,
                || {
                    a.set_password(&name, &p, now)
                        .map(|()| format!("changed the password of {name}"))
                },
                out,
                err,
            )
        }
        UserCmd::Remove { name } => audited(
            &a,
            "user.remove",
            &name,
            now,
            || a.remove_user(&name).map(|()| format!("removed {name}")),
            out,
            err,
        ),
        UserCmd::List { format } => match a.users() {
            Ok(users) => {
                for u in users {
                    let _ = match format {
                        Format::Json => {
                            writeln!(out, "{}", serde_json::to_string(&u).unwrap_or_default())
                        }
                        Format::Text => writeln!(out, "{:<24} {}", u.name, u.role.as_str()),
                    };
                }
                EXIT_OK
            }
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                EXIT_INVALID
            }
        },
    }
}

pub fn token_cmd(
    config: &Config,
    cmd: TokenCmd,
    now: DateTime<Utc>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(a) = open(config, err) else {
        return EXIT_INVALID;
    };
    match cmd {
        TokenCmd::Add { name, role } => {
            let role = match Role::parse(&role) {
                Ok(r) => r,
                Err(e) => {
                    let _ = writeln!(err, "error: {e}");
                    return EXIT_INVALID;
                }
            };
            audited(
                &a,
                "token.add",
                &name,
                now,
                || a.add_token(&name, role, now),
                out,
                err,
            )
        }
        TokenCmd::Remove { name } => audited(
            &a,
            "token.remove",
            &name,
            now,
            || {
                a.remove_token(&name)
                    .map(|()| format!("removed token {name}"))
            },
            out,
            err,
        ),
        TokenCmd::List => match a.tokens() {
            Ok(ts) => {
                for t in ts {
                    let _ = writeln!(out, "{:<24} {}", t.name, t.role.as_str());
                }
                EXIT_OK
            }
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                EXIT_INVALID
            }
        },
    }
}

/// `loaxa audit`: the trail of the last `days` days, oldest first.
pub fn audit_cmd(
    config: &Config,
    days: u32,
    format: Format,
    now: DateTime<Utc>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(a) = open(config, err) else {
        return EXIT_INVALID;
    };
    let from = now - chrono::Duration::days(days.into());
    match a.audit(from, now + chrono::Duration::seconds(1)) {
        Ok(rows) => {
            let tz = config.station.timezone;
            for r in rows {
                let _ = match format {
                    Format::Json => {
                        writeln!(out, "{}", serde_json::to_string(&r).unwrap_or_default())
                    }
                    Format::Text => writeln!(
                        out,
                        "{}  {:<16} {:<5} {:<15} {:<14} {:<24} {}",
                        r.at.with_timezone(&tz).format("%d/%m/%Y %H:%M:%S"),
                        r.who,
                        r.via,
                        r.address.as_deref().unwrap_or("-"),
                        r.action,
                        r.target.as_deref().unwrap_or("-"),
                        r.outcome
                    ),
                };
            }
            EXIT_OK
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_INVALID
        }
    }
}

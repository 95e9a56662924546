//! The control clients: `loaxa status|play|skip|stop|reload`, and `loaxa devices`.

use std::io::Write;
use std::path::Path;

use super::{EXIT_INVALID, EXIT_OK, EXIT_UNAVAILABLE};
use crate::control::{self, ClientError, Request};

/// Sends `req` to the daemon whose state folder is `state` and prints the answer.
pub fn send(
    state: &Path,
    req: Request,
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match control::request(state, &req) {
        Err(e @ (ClientError::NotRunning(_) | ClientError::Denied(..))) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_UNAVAILABLE
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_UNAVAILABLE
        }
        Ok(r) if !r.ok => {
            let _ = writeln!(err, "error: {}", r.message.trim_end());
            EXIT_INVALID
        }
        Ok(r) => {
            if json {
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::to_string(&r.status.unwrap_or_default()).unwrap_or_default()
                );
            } else if let Some(s) = &r.status {
                print_status(s, out);
            } else {
                let _ = writeln!(out, "{}", r.message);
            }
            EXIT_OK
        }
    }
}

fn print_status(s: &serde_json::Value, out: &mut dyn Write) {
    let str_of = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let _ = writeln!(
        out,
        "{} — output: {}",
        str_of(&s["station"]),
        str_of(&s["output"])
    );
    match s["on_air"].as_object() {
        Some(a) => {
            let pos = a.get("position_ms").and_then(|v| v.as_u64()).unwrap_or(0);
            let dur = a.get("duration_ms").and_then(|v| v.as_u64());
            let clock = |ms: u64| crate::local::clock_len(std::time::Duration::from_millis(ms));
            let _ = writeln!(
                out,
                "on air:  {} — {} ({}/{}, item {} of {})",
                a.get("programme")
                    .and_then(|v| v.as_str())
                    .unwrap_or("manual play"),
                a.get("title").and_then(|v| v.as_str()).unwrap_or("?"),
                clock(pos),
                dur.map(clock).unwrap_or_else(|| "?".into()),
                a.get("item").and_then(|v| v.as_u64()).unwrap_or(0),
                a.get("items").and_then(|v| v.as_u64()).unwrap_or(0),
            );
        }
        None => {
            let _ = writeln!(out, "on air:  nothing");
        }
    }
    match s["next"].as_object() {
        Some(n) => {
            let at = n.get("at").and_then(|v| v.as_str()).unwrap_or("");
            let when = chrono::DateTime::parse_from_rfc3339(at)
                .map(|t| t.format("%d/%m/%Y %H:%M").to_string())
                .unwrap_or_else(|_| at.to_string());
            let _ = writeln!(
                out,
                "next:    {} at {when}",
                n.get("programme").and_then(|v| v.as_str()).unwrap_or("?")
            );
        }
        None => {
            let _ = writeln!(out, "next:    nothing scheduled");
        }
    }
    if s["emergency_active"].as_bool() == Some(true) {
        let _ = writeln!(out, "EMERGENCY broadcast in progress");
    }
    if let Some(lib) = s["library"].as_object() {
        let parts: Vec<String> = lib.iter().map(|(k, v)| format!("{v} {k}")).collect();
        if parts.is_empty() {
            let _ = writeln!(
                out,
                "library: empty — put audio files in the category folders (`loaxa library` lists them)"
            );
        } else {
            let _ = writeln!(out, "library: {}", parts.join(", "));
        }
    }
    if let Some(e) = s["last_error"].as_str() {
        let _ = writeln!(out, "last error: {e}");
    }
}

/// `loaxa play`: a file (resolved here, where the person typed it) or a category.
pub fn play(
    state: &Path,
    file: Option<&Path>,
    category: Option<String>,
    emergency: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let file = match file {
        Some(f) => match std::path::absolute(f) {
            Ok(p) if p.is_file() => Some(p),
            _ => {
                let _ = writeln!(
                    err,
                    "error: no such file: {} — give the path of an audio file",
                    f.display()
                );
                return EXIT_INVALID;
            }
        },
        None => None,
    };
    if file.is_none() && category.is_none() {
        let _ = writeln!(
            err,
            "error: say what to play: `loaxa play FILE` or `loaxa play --category KEY`"
        );
        return EXIT_INVALID;
    }
    send(
        state,
        Request::Play {
            file,
            category,
            emergency,
        },
        false,
        out,
        err,
    )
}

/// `loaxa devices`.
pub fn devices(out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    match crate::playout::output::devices() {
        Ok(list) if list.is_empty() => {
            let _ = writeln!(err, "no sound devices found — connect a sound card; meanwhile `--output wav:FILE` or `--output null` work without one");
            EXIT_UNAVAILABLE
        }
        Ok(list) => {
            for (id, desc, default) in list {
                let _ = writeln!(
                    out,
                    "{} {id}{}",
                    if default { "*" } else { " " },
                    if desc.is_empty() || desc == id {
                        String::new()
                    } else {
                        format!("  ({desc})")
                    }
                );
            }
            let _ = writeln!(out, "\n* = the default device. Choose one with `output.device` in schedule.yaml or `--output NAME`;\n  `wav:FILE` and `null` are always available.");
            EXIT_OK
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_UNAVAILABLE
        }
    }
}

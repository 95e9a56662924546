//! The control clients: `loaxa status|play|skip|stop|reload`, and `loaxa devices`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Format, EXIT_INVALID, EXIT_OK, EXIT_UNAVAILABLE};
use crate::control::unix;
use crate::control::{Code, Command, Outcome, Status, Target};

/// Sends `cmd` to the daemon whose state folder is `state` and prints the answer: one line,
/// the status in full, or (`--format json`) the typed outcome as JSON.
pub fn send(
    state: &Path,
    cmd: Command,
    format: Format,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match unix::request(state, &cmd) {
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_UNAVAILABLE
        }
        Ok(Err(e)) => {
            if format == Format::Json {
                let _ = writeln!(out, "{}", serde_json::to_string(&e).unwrap_or_default());
            }
            let _ = writeln!(err, "error: {}", e.message.trim_end());
            match e.code {
                Code::Busy | Code::Stopping => EXIT_UNAVAILABLE,
                _ => EXIT_INVALID,
            }
        }
        Ok(Ok(o)) => {
            match (&o, format) {
                (Outcome::Status(s), Format::Json) => {
                    let _ = writeln!(out, "{}", serde_json::to_string(s).unwrap_or_default());
                }
                (_, Format::Json) => {
                    let _ = writeln!(out, "{}", serde_json::to_string(&o).unwrap_or_default());
                }
                (Outcome::Status(s), Format::Text) => print_status(s, out),
                (_, Format::Text) => {
                    let _ = writeln!(out, "{}", o.message());
                }
            }
            EXIT_OK
        }
    }
}

fn print_status(s: &Status, out: &mut dyn Write) {
    let _ = writeln!(out, "{} — output: {}", s.station, s.output);
    let clock = |ms: u64| crate::local::clock_len(std::time::Duration::from_millis(ms));
    match &s.air.on_air {
        Some(a) => {
            let _ = writeln!(
                out,
                "on air:  {} — {} ({}/{}, item {} of {})",
                a.programme.as_deref().unwrap_or("manual play"),
                a.title,
                clock(a.position_ms),
                a.duration_ms.map(clock).unwrap_or_else(|| "?".into()),
                a.item,
                a.items,
            );
        }
        None => {
            let _ = writeln!(out, "on air:  nothing");
        }
    }
    match &s.air.next {
        Some(n) => {
            let when = chrono::DateTime::parse_from_rfc3339(&n.at)
                .map(|t| t.format("%d/%m/%Y %H:%M").to_string())
                .unwrap_or_else(|_| n.at.clone());
            let _ = writeln!(out, "next:    {} at {when}", n.programme);
        }
        None => {
            let _ = writeln!(out, "next:    nothing scheduled");
        }
    }
    if s.air.emergency_active {
        let _ = writeln!(out, "EMERGENCY broadcast in progress");
    }
    let parts: Vec<String> = s.library.iter().map(|(k, v)| format!("{v} {k}")).collect();
    if parts.is_empty() {
        let _ = writeln!(
            out,
            "library: empty — put audio files in the category folders (`loaxa library` lists them)"
        );
    } else {
        let _ = writeln!(out, "library: {}", parts.join(", "));
    }
    if let Some(c) = &s.console {
        let _ = writeln!(out, "console: {c}");
    }
    for o in s.outputs.iter().filter(|o| !o.master) {
        let _ = writeln!(
            out,
            "output:  {} — {}{}",
            o.name,
            if o.ok { "ok" } else { "FAILING" },
            o.last_error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
    }
    for a in &s.alarms {
        let _ = writeln!(out, "ALARM:   {a}");
    }
    if let Some(e) = &s.air.last_error {
        let _ = writeln!(out, "last error: {e}");
    }
}

/// `loaxa play`: a library item (a file under the audio folder, or one copied there from
/// elsewhere first) or a category's pick.
pub fn play(
    audio: &Path,
    state: &Path,
    file: Option<&Path>,
    category: Option<String>,
    emergency: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let target = match (file, category) {
        (Some(f), _) => match unix::request(state, &Command::Status)
            .map_err(|e| e.to_string())
            .and_then(|_| library_id(audio, f))
        {
            Ok(id) => Target::Item(id),
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                return EXIT_INVALID;
            }
        },
        (None, Some(c)) => Target::Category(c),
        (None, None) => {
            let _ = writeln!(
                err,
                "error: say what to play: `loaxa play FILE` or `loaxa play --category KEY`"
            );
            return EXIT_INVALID;
        }
    };
    send(
        state,
        Command::Play { target, emergency },
        Format::Text,
        out,
        err,
    )
}

/// The library id of `file`: its path under the audio folder, after copying it into
/// `audio/phat-ngay/` when it lives elsewhere (the daemon reads only its own folders).
fn library_id(audio: &Path, file: &Path) -> Result<String, String> {
    let abs = std::fs::canonicalize(file).map_err(|_| {
        format!(
            "no such file: {} — give the path of an audio file",
            file.display()
        )
    })?;
    if !abs.is_file() {
        return Err(format!(
            "{} is not a file — give the path of an audio file",
            file.display()
        ));
    }
    let audio = std::fs::canonicalize(audio).unwrap_or_else(|_| audio.to_path_buf());
    if let Ok(rel) = abs.strip_prefix(&audio) {
        return Ok(crate::config::nfc(&rel.to_string_lossy()));
    }
    let dir = audio.join(crate::library::PLAY_NOW);
    let dest = copy_in(&abs, &dir).map_err(|e| {
        format!(
            "cannot copy {} into {}: {e} — copy it there yourself, or run as the service's user",
            file.display(),
            dir.display()
        )
    })?;
    let rel = dest.strip_prefix(&audio).unwrap_or(&dest);
    Ok(crate::config::nfc(&rel.to_string_lossy()))
}

/// Copies `src` into `dir` under its own (NFC) name, or `name (2)` … when another file has
/// it; a file with the same bytes is reused. Written as a hidden `.part` and renamed, so
/// the library never sees half a file.
fn copy_in(src: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = crate::config::nfc(&src.file_name().unwrap_or_default().to_string_lossy());
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (name.clone(), String::new()),
    };
    let hash = crate::library::hash_file(src)?;
    for n in 1.. {
        let candidate = if n == 1 {
            dir.join(&name)
        } else {
            dir.join(format!("{stem} ({n}){ext}"))
        };
        match crate::library::hash_file(&candidate) {
            Ok(h) if h == hash => return Ok(candidate),
            Ok(_) => continue,
            Err(_) if candidate.exists() => continue,
            Err(_) => {
                let part = dir.join(format!(".{name}.part"));
                std::fs::copy(src, &part)?;
                std::fs::rename(&part, &candidate)?;
                return Ok(candidate);
            }
        }
    }
    unreachable!("the loop returns")
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
            let inputs = crate::media::device::inputs();
            if !inputs.is_empty() {
                let _ = writeln!(
                    out,
                    "\nCapture devices (for `live:` segments and `loaxa play --live NAME`):"
                );
                for (id, desc) in inputs {
                    let _ = writeln!(
                        out,
                        "  {id}{}",
                        if desc.is_empty() || desc == id {
                            String::new()
                        } else {
                            format!("  ({desc})")
                        }
                    );
                }
            }
            EXIT_OK
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_UNAVAILABLE
        }
    }
}

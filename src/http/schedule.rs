//! The schedule editor's endpoints: read schedule.yaml, check a text as `loaxa check` does
//! (as the editor types), save a valid one (keeping the running one), and list or read the
//! kept versions (to restore one, the console saves its text again: the same checks).

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::json;

use super::auth::{self, Caller};
use super::{blocking, ApiError, Web};
use crate::access::Role;
use crate::control::Command;

/// The request's text, which must be UTF-8.
fn text_of(body: &Bytes) -> Result<String, ApiError> {
    String::from_utf8(body.to_vec()).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_request",
            "the schedule is not UTF-8 text",
        )
    })
}

/// Checks a text as schedule.yaml without saving it: `{"ok": true, "warnings": [...]}`, or
/// `{"ok": false, "problems": [...]}`, each at its line and column (what the editor marks).
pub async fn check(
    State(web): State<Web>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.need(Role::Admin)?;
    let text = text_of(&body)?;
    let path = web.config_path.clone();
    let checked = blocking(move || {
        let tmp = temporary(&path);
        std::fs::write(&tmp, &text).map_err(ApiError::internal)?;
        let r = problems(&tmp);
        let _ = std::fs::remove_file(&tmp);
        Ok(r)
    })
    .await?;
    Ok(Json(match checked {
        Ok(()) => json!({"ok": true, "problems": []}),
        Err(p) => json!({"ok": false, "problems": p}),
    })
    .into_response())
}

/// A private name beside schedule.yaml, so relative paths resolve as in the real file.
fn temporary(path: &std::path::Path) -> std::path::PathBuf {
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    dir.join(format!(".schedule-{}.yaml.new", crate::access::secret()))
}

/// `check`'s errors for the file at `tmp`, as the API shows them.
fn problems(tmp: &std::path::Path) -> Result<(), Vec<serde_json::Value>> {
    let lens = crate::media::probe::Lengths::default();
    crate::check::check(tmp, Utc::now(), &|p| lens.get(p))
        .map(|_| ())
        .map_err(|d| {
            d.errors()
                .map(
                    |e| json!({"line": e.line, "col": e.col, "message": e.message, "hint": e.hint}),
                )
                .collect()
        })
}

/// The kept versions of schedule.yaml, newest first: `[{"name", "saved_at", "bytes"}]`.
pub async fn history(State(web): State<Web>, caller: Caller) -> Result<Response, ApiError> {
    caller.need(Role::Admin)?;
    let dir = web.history.clone();
    let list = blocking(move || {
        let mut v: Vec<(String, u64)> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let name = e.file_name().to_str()?.to_string();
                        let len = e.metadata().ok()?.len();
                        (name.ends_with(".yaml") && !name.starts_with('.')).then_some((name, len))
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by(|a, b| b.0.cmp(&a.0));
        Ok(v)
    })
    .await?;
    let rows: Vec<serde_json::Value> = list
        .into_iter()
        .map(|(name, bytes)| {
            let at = chrono::NaiveDateTime::parse_from_str(
                name.trim_end_matches(".yaml"),
                "%Y%m%dT%H%M%S%.3fZ",
            )
            .ok()
            .map(|t| t.and_utc().to_rfc3339());
            json!({"name": name, "saved_at": at, "bytes": bytes})
        })
        .collect();
    Ok(Json(rows).into_response())
}

/// One kept version's text.
pub async fn version(
    State(web): State<Web>,
    caller: Caller,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, ApiError> {
    caller.need(Role::Admin)?;
    let ok = name.ends_with(".yaml")
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    let path = web.history.join(&name);
    let missing = ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no kept schedule `{name}`; /api/v1/schedule/history lists them"),
    );
    if !ok {
        return Err(missing);
    }
    let text = blocking(move || Ok(std::fs::read_to_string(&path).ok())).await?;
    let text = text.ok_or(missing)?;
    Ok(([(header::CONTENT_TYPE, "text/yaml; charset=utf-8")], text).into_response())
}

/// The running schedule.yaml's text.
pub async fn schedule(State(web): State<Web>, caller: Caller) -> Result<Response, ApiError> {
    caller.need(Role::Admin)?;
    let path = web.config_path.clone();
    let text = blocking(move || std::fs::read_to_string(&path).map_err(ApiError::internal)).await?;
    Ok(([(header::CONTENT_TYPE, "text/yaml; charset=utf-8")], text).into_response())
}

/// Replaces schedule.yaml with the request's text if `check` finds no error in it: the
/// running file is kept under the state folder's `schedule-history/` first, then the
/// daemon reloads. An invalid text answers 422 with each problem at its line and column,
/// and the running schedule is untouched.
pub async fn save(
    State(web): State<Web>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.need_audited(&web, Role::Admin, "schedule.save")?;
    let text = String::from_utf8(body.to_vec()).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_request",
            "the schedule is not UTF-8 text",
        )
    })?;
    let (path, history) = (web.config_path.clone(), web.history.clone());
    let checked = blocking(move || Ok(replace_schedule(&path, &history, &text))).await?;
    match checked {
        Err(problems) => {
            auth::audit(&web, caller.entry("schedule.save", None, "config_invalid"));
            let first = problems
                .first()
                .map(|p| p["message"].to_string())
                .unwrap_or_default();
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({
                    "error": {"code": "config_invalid", "message": format!("the schedule has errors and was not saved: {first}")},
                    "problems": problems,
                })),
            )
                .into_response())
        }
        Ok(kept) => {
            auth::audit(&web, caller.entry("schedule.save", kept.clone(), "ok"));
            caller.call(&web, Command::Reload).await
        }
    }
}

/// Checks `text` as the schedule at `path`; when valid, keeps the running file in
/// `history` and puts `text` in its place. The kept copy's name, or the problems.
fn replace_schedule(
    path: &std::path::Path,
    history: &std::path::Path,
    text: &str,
) -> Result<Option<String>, Vec<serde_json::Value>> {
    let internal = |m: String| vec![json!({"line": 0, "col": 0, "message": m})];
    let tmp = temporary(path);
    std::fs::write(&tmp, text)
        .map_err(|e| internal(format!("cannot write {}: {e}", tmp.display())))?;
    if let Err(p) = problems(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(p);
    }
    let kept = match std::fs::read(path) {
        Ok(old) => {
            let name = format!("{}.yaml", Utc::now().format("%Y%m%dT%H%M%S%.3fZ"));
            let r = std::fs::create_dir_all(history)
                .and_then(|()| std::fs::write(history.join(&name), old));
            if let Err(e) = r {
                let _ = std::fs::remove_file(&tmp);
                return Err(internal(format!(
                    "cannot keep the running schedule in {}: {e}",
                    history.display()
                )));
            }
            Some(name)
        }
        Err(_) => None,
    };
    std::fs::rename(&tmp, path)
        .map_err(|e| internal(format!("cannot replace {}: {e}", path.display())))?;
    Ok(kept)
}

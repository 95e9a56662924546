//! One library item: `POST /api/v1/items/{id}/approve` (an approver lets a pending item
//! air; the approval is written into the item's sidecar: `approved: true`, by whom, when,
//! so it survives a restart and shows who approved what), `GET …/{id}/audio` (listen to
//! it, with ranges so a phone's player can seek) and `DELETE …/{id}` (remove it: moved
//! with its sidecar to the audio folder's `.trash/`, never deleted).

use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::auth::{self, Caller};
use super::{blocking, ApiError, Web};
use crate::access::Role;
use crate::library::State as ItemState;

/// The item an id names, as the library shows it now.
fn find(web: &Web, id: &str) -> Result<crate::library::ItemView, ApiError> {
    let view = web.item(id);
    view.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_item",
            format!("no library item `{id}`"),
        )
    })
}

/// `GET /api/v1/items/{id}/audio`: the file as it is, for the console's player.
pub async fn listen(
    State(web): State<Web>,
    caller: Caller,
    UrlPath(rest): UrlPath<String>,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    caller.need(Role::Viewer)?;
    let Some(id) = rest.strip_suffix("/audio") else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "items answer `GET …/audio`",
        ));
    };
    find(&web, id)?;
    let w = web.clone();
    let audio = blocking(move || Ok(w.config()?.paths.audio)).await?;
    let file = audio.join(id);
    use tower::ServiceExt;
    let r = tower_http::services::ServeFile::new(file)
        .oneshot(req)
        .await
        .map_err(ApiError::internal)?;
    Ok(r.map(axum::body::Body::new).into_response())
}

/// `DELETE /api/v1/items/{id}`: moves the file and its sidecar to
/// `AUDIO/.trash/DATE/` (kept, out of the library's sight); the answer names where.
pub async fn remove(
    State(web): State<Web>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let entry = |outcome: &str| caller.entry("remove", Some(id.clone()), outcome);
    if let Err(e) = caller.need(Role::Operator) {
        auth::audit(&web, entry("forbidden"));
        return Err(e);
    }
    if let Err(e) = find(&web, &id) {
        auth::audit(&web, entry("no_such_item"));
        return Err(e);
    }
    let (w, item) = (web.clone(), id.clone());
    let moved = blocking(move || {
        let audio = w.config()?.paths.audio;
        to_trash(&audio, &item).map_err(ApiError::internal)
    })
    .await;
    match moved {
        Ok(to) => {
            auth::audit(&web, entry("ok"));
            Ok(Json(json!({"removed": id, "trash": to})).into_response())
        }
        Err(e) => {
            auth::audit(&web, entry("failed"));
            Err(e)
        }
    }
}

/// Moves `AUDIO/item` (and its sidecar) under `AUDIO/.trash/YYYY-MM-DD/`, keeping its
/// folder; a name already there gets ` (2)`, ` (3)`… The trash path, relative to AUDIO.
fn to_trash(audio: &std::path::Path, item: &str) -> std::io::Result<String> {
    let from = audio.join(item);
    let day = chrono::Local::now().format("%Y-%m-%d").to_string();
    let base = std::path::Path::new(".trash").join(day).join(item);
    let (stem, ext) = (
        base.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        base.extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default(),
    );
    let mut rel = base.clone();
    let mut n = 1;
    while audio.join(&rel).exists() {
        n += 1;
        rel = base.with_file_name(format!("{stem} ({n}){ext}"));
    }
    let to = audio.join(&rel);
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // The sidecar first: the file without its sidecar for an instant would air with the
    // wrong title or dates; without the file, a sidecar is nothing.
    if let Some(side) = crate::library::meta::sidecar_path(&from).filter(|p| p.exists()) {
        std::fs::rename(&side, to.with_extension("yaml"))?;
    }
    std::fs::rename(&from, &to)?;
    Ok(rel.to_string_lossy().into_owned())
}

pub async fn item_action(
    State(web): State<Web>,
    caller: Caller,
    UrlPath(rest): UrlPath<String>,
) -> Result<Response, ApiError> {
    let Some(id) = rest.strip_suffix("/approve").map(str::to_string) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "items take `/approve`",
        ));
    };
    let entry = |outcome: &str| caller.entry("approve", Some(id.clone()), outcome);
    if let Err(e) = caller.need(Role::Approver) {
        auth::audit(&web, entry("forbidden"));
        return Err(e);
    }
    let view = web.item(&id);
    let Some(view) = view else {
        auth::audit(&web, entry("no_such_item"));
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_item",
            format!("no library item `{id}`"),
        ));
    };
    if view.state != ItemState::Pending {
        auth::audit(&web, entry("not_pending"));
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_pending",
            format!(
                "`{id}` is not waiting for approval (it is {})",
                view.state.as_str()
            ),
        ));
    }
    let (w, who, item) = (web.clone(), caller.who.clone(), id.clone());
    blocking(move || {
        let c = w.config()?;
        let audio = c.paths.audio.join(&item);
        let side = crate::library::meta::sidecar_path(&audio)
            .unwrap_or_else(|| audio.with_extension("yaml"));
        let mut meta: serde_yaml::Mapping = std::fs::read_to_string(&side)
            .ok()
            .and_then(|t| serde_yaml::from_str(&t).ok())
            .unwrap_or_default();
        meta.insert("approved".into(), true.into());
        meta.insert("approved_by".into(), who.into());
        meta.insert("approved_at".into(), chrono::Utc::now().to_rfc3339().into());
        let text = serde_yaml::to_string(&meta).map_err(ApiError::internal)?;
        let name = side
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = side.with_file_name(format!(".{name}.tmp"));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &side))
            .map_err(ApiError::internal)
    })
    .await?;
    // The library sees the sidecar change within a moment; answer with the item as it is
    // then.
    let t = Instant::now();
    let view = loop {
        let v = web.item(&id);
        if v.as_ref().is_none_or(|v| v.state != ItemState::Pending)
            || t.elapsed() > Duration::from_secs(5)
        {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    auth::audit(&web, entry("ok"));
    Ok(Json(json!({"item": view})).into_response())
}

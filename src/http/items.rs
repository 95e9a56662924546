//! `POST /api/v1/items/{id}/approve`: an approver lets a pending item air. The approval is
//! written into the item's sidecar (`approved: true`, by whom, when), so it survives a
//! restart and shows who approved what.

use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::auth::{self, Caller};
use super::{blocking, ApiError, Web};
use crate::access::{AuditEntry, Role};
use crate::library::State as ItemState;

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
    let entry = |outcome: &str| AuditEntry {
        at: chrono::Utc::now(),
        who: caller.who.clone(),
        via: caller.via.into(),
        address: Some(caller.address.clone()),
        action: "approve".into(),
        target: Some(id.clone()),
        outcome: outcome.into(),
    };
    if let Err(e) = caller.need(Role::Approver) {
        auth::audit(&web, entry("forbidden"));
        return Err(e);
    }
    let view = web
        .library
        .get()
        .views
        .iter()
        .find(|v| v.path == id)
        .cloned();
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
    let (path, who, item) = (web.config_path.clone(), caller.who.clone(), id.clone());
    blocking(move || {
        let c = crate::config::load(&path)
            .map_err(|_| {
                ApiError::new(
                    StatusCode::CONFLICT,
                    "config_invalid",
                    "schedule.yaml has errors; fix it first",
                )
            })?
            .config;
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
        let v = web
            .library
            .get()
            .views
            .iter()
            .find(|v| v.path == id)
            .cloned();
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

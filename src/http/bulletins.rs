//! `POST /api/v1/bulletins`: bulletins from the provincial system (or any upstream
//! adapter), with the three priorities of TT 39/2020/TT-BTTTT:
//! - `thong-thuong` (normal): lands as `pending`; the commune chooses whether to air it;
//! - `uu-tien` (priority): airs at the front of the next programme that uses its category
//!   (where it meets the commune's own priority items, the category's order decides);
//! - `khan-cap` (emergency): lands in the emergency folder and airs at once, as any
//!   emergency does (alert tone, repeats).
//!
//! The provincial systems have no public protocol; this form is loaxa's stable contract.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::auth::{self, Caller};
use super::upload::{folder_of, place, receive};
use super::{ApiError, Web};
use crate::access::Role;

/// A bulletin's priority, as the circular names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    ThongThuong,
    UuTien,
    KhanCap,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s.trim() {
            "thong-thuong" => Some(Level::ThongThuong),
            "uu-tien" => Some(Level::UuTien),
            "khan-cap" => Some(Level::KhanCap),
            _ => None,
        }
    }
}

pub async fn bulletin(
    State(web): State<Web>,
    caller: Caller,
    mut form: Multipart,
) -> Result<Response, ApiError> {
    let audit = |outcome: &str, target: Option<String>| {
        auth::audit(&web, caller.entry("bulletin", target, outcome))
    };
    if let Err(e) = caller.need(Role::Operator) {
        audit("forbidden", None);
        return Err(e);
    }
    // The category is known only once the form is read: it is streamed first into a
    // hidden folder of the audio tree (the library skips it; the rename into the
    // category's folder stays on one file system).
    let w = web.clone();
    let config = super::blocking(move || w.config()).await?;
    let incoming = config.paths.audio.join(".incoming");
    let r = receive(
        &mut form,
        &incoming,
        web.max_upload,
        &["title", "priority", "valid_from", "valid_until", "category"],
    )
    .await?;
    let level = r
        .field("priority")
        .map(|p| {
            Level::parse(p).ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    format!("`priority: {p}` is not one of thong-thuong, uu-tien, khan-cap"),
                )
            })
        })
        .transpose()?
        .unwrap_or(Level::ThongThuong);
    let category = match level {
        Level::KhanCap => config
            .emergency
            .as_ref()
            .map(|e| e.category.clone())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::CONFLICT,
                    "no_emergency",
                    "this station has no emergency category (schedule.yaml `emergency:`); it cannot take khan-cap bulletins",
                )
            })?,
        _ => r
            .field("category")
            .map(str::to_string)
            .or_else(|| web.bulletins.clone())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    "name the `category` the bulletin belongs to (or set `http.bulletins` in schedule.yaml)",
                )
            })?,
    };
    let (folder, audio, _) = folder_of(&web, &category).await?;
    let mut meta = r.meta()?;
    match level {
        Level::ThongThuong => {
            meta.insert("approved".into(), false.into());
        }
        Level::UuTien => {
            meta.insert("priority".into(), "priority".into());
        }
        Level::KhanCap => {}
    }
    meta.insert(
        "note".into(),
        format!("bản tin cấp trên từ {} ({})", caller.who, caller.via).into(),
    );
    let (id, view) = match place(&web, &caller, r, &folder, &audio, meta).await {
        Ok(x) => x,
        Err(e) => {
            audit(e.code, Some(category));
            return Err(e);
        }
    };
    audit("ok", Some(id.clone()));
    Ok((
        StatusCode::CREATED,
        Json(json!({"item": view, "id": id, "category": category})),
    )
        .into_response())
}

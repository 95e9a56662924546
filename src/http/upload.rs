//! `POST /api/v1/library/{category}`: a file from a phone or a PC into a category's hot
//! folder. Streamed to a hidden `.part` file (the library ignores it), renamed into place
//! when the request has ended whole, then taken by the library at once (no settle wait:
//! the upload is known complete). A file the library rejects (not audio) is removed again
//! and the answer says why.

use axum::extract::{Multipart, Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use unicode_normalization::UnicodeNormalization;

use super::auth::{self, Caller};
use super::{blocking, ApiError, Web};
use crate::access::Role;
use crate::control::{Command, Outcome};

/// The name an upload is stored under: its last path component (no traversal), without
/// leading dots (never hidden), in NFC, at most 200 bytes; None if nothing usable is left
/// or it holds a control character (NUL, a newline).
pub fn file_name(raw: &str) -> Option<String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    if base.chars().any(char::is_control) {
        return None;
    }
    let name: String = base
        .nfc()
        .collect::<String>()
        .trim()
        .trim_start_matches(['.', '~'])
        .trim()
        .to_string();
    if name.is_empty() || name.len() > 200 || name.ends_with(".yaml") {
        return None;
    }
    Some(name)
}

fn invalid(m: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m)
}

fn date(v: &str, what: &str) -> Result<String, ApiError> {
    chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .map(|d| d.to_string())
        .map_err(|_| invalid(format!("`{what}` must be a date like 2026-12-01")))
}

/// An upload read to its end: the file in its `.part`, and the form's other fields.
pub struct Received {
    part: Part,
    name: String,
    size: u64,
    fields: std::collections::BTreeMap<String, String>,
}

/// A partial file, removed unless it was renamed into place.
struct Part(std::path::PathBuf);

impl Drop for Part {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn too_big(max: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!(
            "the file is larger than the station takes ({} MB); record it shorter or at a lower bitrate",
            max / 1_000_000
        ),
    )
}

fn read_err(e: axum::extract::multipart::MultipartError, max: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_big(max)
    } else {
        invalid(format!("the upload could not be read: {}", e.body_text()))
    }
}

/// Streams the form's `file` into a hidden `.part` file in `folder` and keeps its other
/// fields (only those in `known`).
pub async fn receive(
    form: &mut Multipart,
    folder: &std::path::Path,
    max: u64,
    known: &[&str],
) -> Result<Received, ApiError> {
    std::fs::create_dir_all(folder).map_err(ApiError::internal)?;
    let part = Part(folder.join(format!(".upload-{}.part", crate::access::secret())));
    let (mut name, mut size) = (None, 0u64);
    let mut fields = std::collections::BTreeMap::new();
    while let Some(mut field) = form.next_field().await.map_err(|e| read_err(e, max))? {
        let key = field.name().unwrap_or("").to_string();
        if key == "file" {
            let raw = field.file_name().unwrap_or("").to_string();
            name = Some(file_name(&raw).ok_or_else(|| {
                invalid("the file's name cannot be used: give it a name of letters and numbers, like `Bản tin CCHC.mp3`")
            })?);
            let mut f = tokio::fs::File::create(&part.0)
                .await
                .map_err(ApiError::internal)?;
            while let Some(chunk) = field.chunk().await.map_err(|e| read_err(e, max))? {
                size += chunk.len() as u64;
                if size > max {
                    return Err(too_big(max));
                }
                tokio::io::AsyncWriteExt::write_all(&mut f, &chunk)
                    .await
                    .map_err(ApiError::internal)?;
            }
            f.sync_all().await.map_err(ApiError::internal)?;
        } else if known.contains(&key.as_str()) {
            let v = field.text().await.map_err(|e| read_err(e, max))?;
            fields.insert(key, v);
        } else {
            return Err(invalid(format!(
                "unknown field `{key}`: file, {}",
                known.join(", ")
            )));
        }
    }
    let name = name.ok_or_else(|| invalid("no `file` in the form"))?;
    if size == 0 {
        return Err(invalid("the file is empty"));
    }
    Ok(Received {
        part,
        name,
        size,
        fields,
    })
}

impl Received {
    pub fn field(&self, k: &str) -> Option<&str> {
        self.fields
            .get(k)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The sidecar's fields from the form: title and dates.
    pub fn meta(&self) -> Result<serde_yaml::Mapping, ApiError> {
        let mut meta = serde_yaml::Mapping::new();
        if let Some(t) = self.field("title") {
            meta.insert("title".into(), t.nfc().collect::<String>().into());
        }
        for k in ["valid_from", "valid_until"] {
            if let Some(v) = self.field(k) {
                meta.insert(k.into(), date(v, k)?.into());
            }
        }
        Ok(meta)
    }
}

/// Puts a received file into `folder` with its sidecar (`meta`, if any), has the library
/// take it, and answers what became of it: 201 with the item, or why not.
pub async fn place(
    web: &Web,
    caller: &Caller,
    r: Received,
    folder: &std::path::Path,
    audio: &std::path::Path,
    meta: serde_yaml::Mapping,
) -> Result<(String, Option<crate::library::ItemView>), ApiError> {
    let dest = folder.join(&r.name);
    if dest.exists() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "exists",
            format!(
                "`{}` is already in the library; rename the file or remove the old one",
                r.name
            ),
        ));
    }
    // The sidecar first, so the library reads title and dates with the file.
    let sidecar = dest.with_extension("yaml");
    if !meta.is_empty() {
        let text = serde_yaml::to_string(&meta).map_err(ApiError::internal)?;
        std::fs::write(&sidecar, text).map_err(ApiError::internal)?;
    }
    std::fs::rename(&r.part.0, &dest).map_err(ApiError::internal)?;
    tracing::info!(
        "console: {} uploaded {} ({} KB)",
        caller.who,
        dest.display(),
        r.size / 1000
    );
    let id = dest
        .strip_prefix(audio)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| r.name.clone());
    let out = web
        .handle
        .call(Command::Take { item: id.clone() }, caller.origin())
        .await?;
    let reason = match out {
        Outcome::Taken { reason, .. } => reason,
        _ => None,
    };
    let view = web.item(&id);
    if view
        .as_ref()
        .is_some_and(|v| v.state == crate::library::State::Rejected)
    {
        let _ = std::fs::remove_file(&dest);
        let _ = std::fs::remove_file(&sidecar);
        let why = view.and_then(|v| v.reason).or(reason).unwrap_or_default();
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rejected",
            format!("the station cannot air this file: {why}"),
        ));
    }
    Ok((id, view))
}

/// The running configuration's folder for `category`, and the audio folder.
pub async fn folder_of(
    web: &Web,
    category: &str,
) -> Result<
    (
        std::path::PathBuf,
        std::path::PathBuf,
        crate::config::Config,
    ),
    ApiError,
> {
    let w = web.clone();
    let cat = category.to_string();
    blocking(move || {
        let c = w.config()?;
        let f = c.category(&cat).map(|k| k.folder.clone()).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no_such_category",
                format!("unknown category `{cat}`"),
            )
        })?;
        let audio = c.paths.audio.clone();
        Ok((f, audio, c))
    })
    .await
}

pub async fn upload(
    State(web): State<Web>,
    caller: Caller,
    UrlPath(category): UrlPath<String>,
    mut form: Multipart,
) -> Result<Response, ApiError> {
    caller.need(Role::Operator).inspect_err(|_| {
        auth::audit(
            &web,
            caller.entry("upload", Some(category.clone()), "forbidden"),
        )
    })?;
    let (folder, audio, _) = folder_of(&web, &category).await?;
    let r = receive(
        &mut form,
        &folder,
        web.max_upload,
        &["title", "valid_from", "valid_until"],
    )
    .await?;
    let meta = r.meta()?;
    let (id, view) = place(&web, &caller, r, &folder, &audio, meta).await?;
    Ok((StatusCode::CREATED, Json(json!({"item": view, "id": id}))).into_response())
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn upload_names_are_made_safe() {
        assert_eq!(
            file_name("Bản tin CCHC.mp3").as_deref(),
            Some("Bản tin CCHC.mp3")
        );
        assert_eq!(
            file_name("../../etc/passwd.mp3").as_deref(),
            Some("passwd.mp3")
        );
        assert_eq!(
            file_name("C:\\Users\\lan\\ghi âm.m4a").as_deref(),
            Some("ghi âm.m4a")
        );
        assert_eq!(file_name(".hidden.mp3").as_deref(), Some("hidden.mp3"));
        assert_eq!(file_name("a\0b.mp3"), None);
        assert_eq!(file_name("a\nb.mp3"), None);
        assert_eq!(file_name("..."), None);
        assert_eq!(file_name("dir/"), None);
        assert_eq!(file_name("x.yaml"), None);
        // Decomposed Vietnamese (as macOS sends it) is stored composed.
        let nfd = "Ba\u{0309}n tin.mp3";
        assert_eq!(file_name(nfd).as_deref(), Some("Bản tin.mp3"));
        assert_eq!(file_name(&"a".repeat(300)), None);
    }
}

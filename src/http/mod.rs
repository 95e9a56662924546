//! The HTTP transport over the station [`Handle`] (beside the Unix socket's, above the
//! CLI bodies it shares the reads with): the JSON API under `/api/v1` that the
//! console, the provincial system's adapter and scripts call. It knows how to
//! authenticate and map requests to [`Command`]s, never what they mean. Blocking work
//! (password hashing, the database, reading files) runs on tokio's blocking pool, never
//! on the loop that cues programmes.

mod api;
mod auth;
mod body;
mod bulletins;
mod console;
mod items;
mod schedule;
pub mod upload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::access::Access;
use crate::control::{Code, Handle};
use crate::library::SnapshotReader;

pub use auth::Sessions;

/// What every request handler shares.
#[derive(Clone)]
pub struct Web {
    pub handle: Handle,
    pub access: Arc<Mutex<Access>>,
    pub sessions: Arc<Mutex<Sessions>>,
    pub library: SnapshotReader,
    /// schedule.yaml, which the schedule editor reads and replaces.
    pub config_path: PathBuf,
    /// Where the previous versions of schedule.yaml are kept.
    pub history: PathBuf,
    /// The largest upload taken, in bytes.
    pub max_upload: u64,
    /// Where an upstream bulletin naming no category lands (`http.bulletins`).
    pub bulletins: Option<String>,
}

impl Web {
    /// The library item an id (its path under the audio folder) names, as listed now.
    fn item(&self, id: &str) -> Option<crate::library::ItemView> {
        self.library
            .get()
            .views
            .iter()
            .find(|v| v.path == id)
            .cloned()
    }

    /// The configuration schedule.yaml holds now (blocking: call it on the blocking pool).
    /// An invalid file answers `409 config_invalid` with its first error.
    fn config(&self) -> Result<crate::config::Config, ApiError> {
        crate::config::load(&self.config_path)
            .map(|l| l.config)
            .map_err(|d| {
                let first = d.errors().next().map(|e| e.to_string()).unwrap_or_default();
                ApiError::new(
                    StatusCode::CONFLICT,
                    "config_invalid",
                    format!("schedule.yaml has errors; fix it first: {first}"),
                )
            })
    }
}

/// Serves the API on `listener` until the daemon stops.
pub async fn serve(listener: tokio::net::TcpListener, web: Web) {
    let app = api::router(web).into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!("console: the HTTP server stopped: {e}");
    }
}

/// A refusal as the API sends it: an HTTP status and `{"error": {code, message}}`, the
/// code being one of the command surface's or of the API's own (`unauthorized`,
/// `forbidden`, `csrf`, `rate_limited`, `invalid`, `not_found`).
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!("console: {e}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the station could not do this; the technician's log says why",
        )
    }
}

impl From<crate::control::Error> for ApiError {
    fn from(e: crate::control::Error) -> ApiError {
        let status = match e.code {
            Code::BadRequest => StatusCode::UNPROCESSABLE_ENTITY,
            Code::NoSuchItem | Code::NoSuchCategory => StatusCode::NOT_FOUND,
            Code::NothingToPlay | Code::NothingOnAir => StatusCode::CONFLICT,
            Code::ConfigInvalid => StatusCode::UNPROCESSABLE_ENTITY,
            Code::Busy | Code::Stopping => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, e.code.as_str(), e.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = axum::Json(json!({"error": {"code": self.code, "message": self.message}}));
        let mut r = (self.status, body).into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = s.to_string().parse() {
                r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        r
    }
}

/// Runs blocking work (the database, hashing, files) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

//! The `/api/v1` routes: each maps a request to a [`Command`] on the handle, or to the
//! same read the CLI does (plan, export, report), and its answer to JSON.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::auth::{self, Caller};
use super::{blocking, ApiError, Web};
use crate::access::Role;
use crate::control::{Command, Target};

pub fn router(web: Web) -> Router {
    Router::new()
        .route("/api/v1/session", post(login).get(whoami).delete(logout))
        .route("/api/v1/status", get(status))
        .route("/api/v1/events", get(events))
        .route("/api/v1/library", get(library))
        .route(
            "/api/v1/library/{category}",
            post(super::upload::upload).layer(axum::extract::DefaultBodyLimit::max(
                (web.max_upload + 1_000_000) as usize,
            )),
        )
        .route(
            "/api/v1/items/{*rest}",
            post(super::items::item_action)
                .get(super::items::listen)
                .delete(super::items::remove),
        )
        .route("/api/v1/categories", get(categories))
        .route(
            "/api/v1/bulletins",
            post(super::bulletins::bulletin).layer(axum::extract::DefaultBodyLimit::max(
                (web.max_upload + 1_000_000) as usize,
            )),
        )
        .route("/api/v1/play", post(play))
        .route("/api/v1/skip", post(skip))
        .route("/api/v1/stop", post(stop))
        .route("/api/v1/reload", post(reload))
        .route("/api/v1/plan", get(plan))
        .route("/api/v1/airings", get(airings))
        .route("/api/v1/report", get(report))
        .route(
            "/api/v1/schedule",
            get(super::schedule::schedule).put(super::schedule::save),
        )
        .route("/api/v1/schedule/check", post(super::schedule::check))
        .route("/api/v1/schedule/history", get(super::schedule::history))
        .route(
            "/api/v1/schedule/history/{name}",
            get(super::schedule::version),
        )
        .route("/api/v1/audit", get(audit))
        .merge(super::console::routes())
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such API endpoint; docs/api.md lists them",
            )
        })
        .with_state(web)
}

fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let mut m = e.to_string();
        m.truncate(200);
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_request",
            format!("bad request: {m}"),
        )
    })
}

#[derive(Deserialize)]
struct Login {
    user: String,
    password: String,
}

async fn login(
    State(web): State<Web>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let l: Login = json_body(&body)?;
    let r = auth::login(&web, addr.ip().to_string(), l.user, l.password).await?;
    let mut resp = Json(json!({"user": r.user, "role": r.role, "csrf": r.csrf})).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        r.cookie.parse().map_err(ApiError::internal)?,
    );
    Ok(resp)
}

async fn whoami(caller: Caller) -> Json<serde_json::Value> {
    Json(json!({"user": caller.who, "role": caller.role, "via": caller.via, "csrf": caller.csrf}))
}

async fn logout(State(web): State<Web>, caller: Caller) -> Response {
    let cookie = auth::logout(&web, &caller);
    auth::audit(&web, caller.entry("logout", None, "ok"));
    let mut r = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = cookie.parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn status(State(web): State<Web>, caller: Caller) -> Result<Response, ApiError> {
    caller.need(Role::Viewer)?;
    Ok(Json(&*web.handle.status()).into_response())
}

/// Server-sent events: each station event as one JSON `data:` line, and the status
/// whenever it changes (event `status`), so the console never polls.
async fn events(
    State(web): State<Web>,
    caller: Caller,
) -> Result<Sse<impl futures_util::Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    caller.need(Role::Viewer)?;
    let events = web.handle.subscribe();
    let status = web.handle.watch();
    let first = web.handle.status();
    let stream = futures_util::stream::unfold(
        (events, status, Some(first)),
        |(mut events, mut status, first)| async move {
            if let Some(s) = first {
                let e = SseEvent::default()
                    .event("status")
                    .data(serde_json::to_string(&*s).unwrap_or_default());
                return Some((Ok(e), (events, status, None)));
            }
            loop {
                tokio::select! {
                    r = events.recv() => match r {
                        Ok(ev) => {
                            let e = SseEvent::default()
                                .data(serde_json::to_string(&ev).unwrap_or_default());
                            return Some((Ok(e), (events, status, None)));
                        }
                        // A slow client missed some: it gets the status next.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(_) => return None,
                    },
                    r = status.changed() => {
                        if r.is_err() {
                            return None;
                        }
                        let s = status.borrow_and_update().clone();
                        let e = SseEvent::default()
                            .event("status")
                            .data(serde_json::to_string(&*s).unwrap_or_default());
                        return Some((Ok(e), (events, status, None)));
                    }
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[derive(Deserialize)]
struct LibraryQuery {
    category: Option<String>,
}

async fn library(
    State(web): State<Web>,
    caller: Caller,
    Query(q): Query<LibraryQuery>,
) -> Result<Response, ApiError> {
    caller.need(Role::Viewer)?;
    let snap = web.library.get();
    let items: Vec<&crate::library::ItemView> = snap
        .views
        .iter()
        .filter(|v| q.category.as_deref().is_none_or(|c| v.category == c))
        .collect();
    Ok(Json(json!({"items": items, "counts": snap.counts})).into_response())
}

/// The categories of the running schedule: key, name, priority, whether items need an
/// approver, and their folder's counts (what the console's library and play pages list).
async fn categories(State(web): State<Web>, caller: Caller) -> Result<Response, ApiError> {
    caller.need(Role::Viewer)?;
    let w = web.clone();
    let c = blocking(move || w.config()).await?;
    let snap = web.library.get();
    let rows: Vec<serde_json::Value> = c
        .categories
        .iter()
        .map(|k| {
            let ready = snap
                .views
                .iter()
                .filter(|v| v.category == k.key && v.state == crate::library::State::Ready)
                .count();
            json!({
                "key": k.key,
                "name": k.name,
                "priority": k.priority,
                "approval": k.approval,
                "ready": ready,
            })
        })
        .collect();
    Ok(Json(rows).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlayBody {
    item: Option<String>,
    category: Option<String>,
    #[serde(default)]
    emergency: bool,
}

async fn play(State(web): State<Web>, caller: Caller, body: Bytes) -> Result<Response, ApiError> {
    caller.need_audited(&web, Role::Operator, "play")?;
    let b: PlayBody = json_body(&body)?;
    let target = match (b.item, b.category) {
        (Some(i), None) => Target::Item(i),
        (None, Some(c)) => Target::Category(c),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_request",
                "name either `item` (an id from /api/v1/library) or `category`",
            ))
        }
    };
    caller
        .call(
            &web,
            Command::Play {
                target,
                emergency: b.emergency,
            },
        )
        .await
}

async fn skip(State(web): State<Web>, caller: Caller) -> Result<Response, ApiError> {
    caller.need_audited(&web, Role::Operator, "skip")?;
    caller.call(&web, Command::Skip).await
}

async fn stop(State(web): State<Web>, caller: Caller) -> Result<Response, ApiError> {
    caller.need_audited(&web, Role::Operator, "stop")?;
    caller.call(&web, Command::Stop).await
}

async fn reload(State(web): State<Web>, caller: Caller) -> Result<Response, ApiError> {
    caller.need_audited(&web, Role::Admin, "reload")?;
    caller.call(&web, Command::Reload).await
}

/// Runs a CLI body (which writes to `out`, complains to `err`) on the blocking pool;
/// its exit code decides the answer.
async fn cli(
    f: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>) -> i32 + Send + 'static,
) -> Result<Vec<u8>, ApiError> {
    blocking(move || {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        match f(&mut out, &mut err) {
            0 => Ok(out),
            _ => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                super::body::first_error(&err),
            )),
        }
    })
    .await
}

#[derive(Deserialize)]
struct PlanQuery {
    from: Option<String>,
    days: Option<u32>,
}

/// JSON lines as one JSON array, through the writer the streamed exports use.
fn lines_to_array(out: &[u8]) -> Response {
    use std::io::Write;
    let mut array = Vec::with_capacity(out.len() + 2);
    let mut w = super::body::LinesToArray::new(&mut array).expect("a Vec takes writes");
    w.write_all(out).expect("a Vec takes writes");
    w.finish().expect("a Vec takes writes");
    json(array)
}

/// A JSON body already serialized (an array made from the CLI's JSON lines).
fn json(body: impl IntoResponse) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn plan(
    State(web): State<Web>,
    caller: Caller,
    Query(q): Query<PlanQuery>,
) -> Result<Response, ApiError> {
    caller.need(Role::Viewer)?;
    let path = web.config_path.clone();
    let days = q.days.map(|d| d.min(31));
    let out = cli(move |o, e| {
        crate::commands::plan::plan_cmd(
            &path,
            q.from.as_deref(),
            days,
            None,
            crate::commands::Format::Json,
            Utc::now(),
            o,
            e,
        )
    })
    .await?;
    Ok(lines_to_array(&out))
}

#[derive(Deserialize)]
struct AiringsQuery {
    from: Option<String>,
    to: Option<String>,
    category: Option<String>,
    format: Option<String>,
}

async fn airings(
    State(web): State<Web>,
    caller: Caller,
    Query(q): Query<AiringsQuery>,
) -> Result<Response, ApiError> {
    use crate::airtime::export::Format;
    caller.need(Role::Viewer)?;
    let format = match q.format.as_deref().unwrap_or("json") {
        "json" => Format::Json,
        "csv" => Format::Csv,
        "xlsx" => Format::Xlsx,
        f => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_request",
                format!("unknown format `{f}`: json, csv or xlsx"),
            ))
        }
    };
    let w = web.clone();
    // XLSX is built in a file (its writer needs one): a private temporary, sent from its
    // open handle once removed. CSV and JSON are sent as they are written.
    let file = (format == Format::Xlsx)
        .then(|| std::env::temp_dir().join(format!("loaxa-{}.xlsx", crate::access::secret())));
    let body = super::body::streamed(move |o, e| {
        let c = match w.config() {
            Err(x) => {
                let _ = std::io::Write::write_all(e, x.message.as_bytes());
                return 1;
            }
            Ok(c) => c,
        };
        let args = crate::commands::airtime::ExportArgs {
            from: q.from,
            to: q.to,
            category: q.category,
            format,
            output: file.clone(),
            lang: crate::airtime::export::Lang::Vi,
            db: None,
        };
        let export = |o: &mut dyn std::io::Write, e: &mut Vec<u8>| {
            crate::commands::airtime::export_cmd(&c, args, Utc::now(), o, e)
        };
        match (&file, format) {
            (Some(f), _) => {
                let code = export(&mut std::io::sink(), e);
                let opened = std::fs::File::open(f);
                let _ = std::fs::remove_file(f);
                match opened {
                    _ if code != 0 => code,
                    Ok(mut x) => match std::io::copy(&mut x, o) {
                        Err(x) if x.kind() != std::io::ErrorKind::BrokenPipe => {
                            let _ = std::io::Write::write_all(e, x.to_string().as_bytes());
                            1
                        }
                        _ => 0,
                    },
                    Err(x) => {
                        let _ = std::io::Write::write_all(e, x.to_string().as_bytes());
                        1
                    }
                }
            }
            (None, Format::Json) => {
                let Ok(mut a) = super::body::LinesToArray::new(o) else {
                    return 0; // the client left
                };
                match export(&mut a, e) {
                    0 => {
                        let _ = a.finish();
                        0
                    }
                    code => code,
                }
            }
            (None, _) => export(o, e),
        }
    })
    .await?;
    Ok(match format {
        Format::Json => json(body),
        Format::Csv => download(body, "text/csv; charset=utf-8", "lan-phat.csv"),
        Format::Xlsx => download(
            body,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "lan-phat.xlsx",
        ),
    })
}

fn download(body: impl IntoResponse, kind: &str, name: &str) -> Response {
    let mut h = HeaderMap::new();
    if let Ok(v) = kind.parse() {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = format!("attachment; filename=\"{name}\"").parse() {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    (h, body).into_response()
}

#[derive(Deserialize)]
struct ReportQuery {
    month: Option<String>,
    format: Option<String>,
}

async fn report(
    State(web): State<Web>,
    caller: Caller,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    use crate::airtime::report::Format;
    caller.need_audited(&web, Role::Approver, "report")?;
    let format = match q.format.as_deref().unwrap_or("json") {
        "json" => Format::Json,
        "html" => Format::Html,
        f => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_request",
                format!("unknown format `{f}`: json or html"),
            ))
        }
    };
    let w = web.clone();
    let out = cli(move |o, e| match w.config() {
        Err(x) => {
            let _ = std::io::Write::write_all(e, x.message.as_bytes());
            1
        }
        Ok(c) => crate::commands::airtime::report_cmd(
            &c,
            crate::commands::airtime::ReportArgs {
                month: q.month,
                format,
                output: None,
                db: None,
            },
            Utc::now(),
            o,
            e,
        ),
    })
    .await?;
    let kind = match format {
        Format::Html => "text/html; charset=utf-8",
        _ => "application/json",
    };
    Ok(([(header::CONTENT_TYPE, kind)], out).into_response())
}

#[derive(Deserialize)]
struct AuditQuery {
    days: Option<u32>,
    format: Option<String>,
}

async fn audit(
    State(web): State<Web>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    caller.need(Role::Admin)?;
    let access = web.access.clone();
    let now = Utc::now();
    let from = now - chrono::Duration::days(q.days.unwrap_or(30).min(3660).into());
    let rows = blocking(move || {
        access
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .audit(from, now + chrono::Duration::seconds(1))
            .map_err(ApiError::internal)
    })
    .await?;
    match q.format.as_deref().unwrap_or("json") {
        "csv" => {
            let mut w = csv::Writer::from_writer(vec![]);
            let _ = w.write_record(["at", "who", "via", "address", "action", "target", "outcome"]);
            for r in &rows {
                let _ = w.write_record([
                    r.at.to_rfc3339(),
                    r.who.clone(),
                    r.via.clone(),
                    r.address.clone().unwrap_or_default(),
                    r.action.clone(),
                    r.target.clone().unwrap_or_default(),
                    r.outcome.clone(),
                ]);
            }
            let body = w.into_inner().unwrap_or_default();
            Ok(download(
                body,
                "text/csv; charset=utf-8",
                "nhat-ky-thao-tac.csv",
            ))
        }
        _ => Ok(Json(rows).into_response()),
    }
}

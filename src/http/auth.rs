//! Who is calling: a console session (an HttpOnly, SameSite=Strict cookie, with a CSRF
//! token that every state-changing request must echo in `X-CSRF-Token`) or an API token
//! (`Authorization: Bearer …`, for programs; no cookie, so no CSRF). Logins are
//! rate-limited per address and per user; sessions end after a while without use.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};

use super::{blocking, ApiError, Web};
use crate::access::limit::Limiter;
use crate::access::{secret, AuditEntry, Role};

/// The session cookie's name.
pub const COOKIE: &str = "loaxa_session";
/// The header a state-changing request from the console carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Failed logins allowed per user, and per address, in [`LIMIT_WINDOW`].
const PER_USER: usize = 5;
const PER_ADDRESS: usize = 20;
const LIMIT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Sessions kept at most (the oldest idle one goes first).
const MAX_SESSIONS: usize = 1000;

struct Session {
    user: String,
    csrf: String,
    last: Instant,
}

/// The open console sessions (in memory: a restart of the daemon logs everyone out) and
/// the login limiters.
pub struct Sessions {
    idle: Duration,
    map: HashMap<String, Session>,
    by_user: Limiter,
    by_address: Limiter,
}

impl Sessions {
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            idle,
            map: HashMap::new(),
            by_user: Limiter::new(PER_USER, LIMIT_WINDOW),
            by_address: Limiter::new(PER_ADDRESS, LIMIT_WINDOW),
        }
    }

    fn open(&mut self, user: &str, now: Instant) -> (String, String) {
        let idle = self.idle;
        self.map.retain(|_, s| now.duration_since(s.last) < idle);
        if self.map.len() >= MAX_SESSIONS {
            if let Some(k) = self
                .map
                .iter()
                .min_by_key(|(_, s)| s.last)
                .map(|(k, _)| k.clone())
            {
                self.map.remove(&k);
            }
        }
        let (id, csrf) = (secret(), secret());
        self.map.insert(
            id.clone(),
            Session {
                user: user.into(),
                csrf: csrf.clone(),
                last: now,
            },
        );
        (id, csrf)
    }

    /// The session's user and CSRF token, refreshing its idle timer; None if unknown or
    /// expired.
    fn touch(&mut self, id: &str, now: Instant) -> Option<(String, String)> {
        let idle = self.idle;
        match self.map.get_mut(id) {
            Some(s) if now.duration_since(s.last) < idle => {
                s.last = now;
                Some((s.user.clone(), s.csrf.clone()))
            }
            Some(_) => {
                self.map.remove(id);
                None
            }
            None => None,
        }
    }

    fn close(&mut self, id: &str) {
        self.map.remove(id);
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub who: String,
    pub role: Role,
    /// `http` (a console session) or `api` (a token).
    pub via: &'static str,
    pub address: String,
    /// The session's CSRF token (the console keeps it for its next requests).
    pub csrf: Option<String>,
    /// The session's id, for logging out.
    session: Option<String>,
}

impl Caller {
    /// Refuses (403) a caller below `role`, writing the refusal of the state-changing
    /// `action` into the audit trail.
    pub fn need_audited(&self, web: &Web, role: Role, action: &str) -> Result<(), ApiError> {
        self.need(role).inspect_err(|_| {
            audit(web, self.entry(action, None, "forbidden"));
        })
    }

    /// Sends a command for this caller and answers its outcome; the daemon writes it into
    /// the audit trail.
    pub async fn call(
        &self,
        web: &Web,
        cmd: crate::control::Command,
    ) -> Result<axum::response::Response, ApiError> {
        use axum::response::IntoResponse;
        let out = web.handle.call(cmd, self.origin()).await?;
        Ok(
            axum::Json(serde_json::json!({"outcome": out, "message": out.message()}))
                .into_response(),
        )
    }

    /// An audit row for what this caller did (or was refused), now.
    pub fn entry(&self, action: &str, target: Option<String>, outcome: &str) -> AuditEntry {
        AuditEntry {
            at: chrono::Utc::now(),
            who: self.who.clone(),
            via: self.via.into(),
            address: Some(self.address.clone()),
            action: action.into(),
            target,
            outcome: outcome.into(),
        }
    }

    /// Refuses (403) a caller whose role does not allow what needs `role`.
    pub fn need(&self, role: Role) -> Result<(), ApiError> {
        if self.role.allows(role) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "`{}` has the role {}; this needs {} or above",
                    self.who,
                    self.role.as_str(),
                    role.as_str()
                ),
            ))
        }
    }

    pub fn origin(&self) -> crate::control::Origin {
        crate::control::Origin {
            who: self.who.clone(),
            via: self.via.into(),
            address: Some(self.address.clone()),
        }
    }
}

fn address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "?".into())
}

fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "log in first (POST /api/v1/session), or send an API token",
    )
}

/// Whether a request changes something (and so needs the CSRF token from a session).
fn changes(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Compares in time independent of where the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl FromRequestParts<Web> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Caller, ApiError> {
        let address = address(parts);
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|s| s.trim().to_string());
        if let Some(secret) = bearer {
            let access = web.access.clone();
            let t = blocking(move || {
                access
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .token(&secret)
                    .map_err(ApiError::internal)
            })
            .await?;
            return match t {
                Some(t) => Ok(Caller {
                    who: t.name,
                    role: t.role,
                    via: "api",
                    address,
                    csrf: None,
                    session: None,
                }),
                None => Err(unauthorized()),
            };
        }
        let id = cookie(parts, COOKIE).ok_or_else(unauthorized)?;
        let (user, csrf) = web
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .touch(&id, Instant::now())
            .ok_or_else(unauthorized)?;
        if changes(&parts.method) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !same(sent, &csrf) {
                audit(
                    web,
                    AuditEntry {
                        at: chrono::Utc::now(),
                        who: user,
                        via: "http".into(),
                        address: Some(address),
                        action: format!("{} {}", parts.method, parts.uri.path()),
                        target: None,
                        outcome: "csrf".into(),
                    },
                );
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "this request lacks the session's X-CSRF-Token; reload the page",
                ));
            }
        }
        // The account as it is now: removed or demoted since the login counts at once.
        let (access, name) = (web.access.clone(), user.clone());
        let role = blocking(move || {
            access
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .role_of(&name)
                .map_err(ApiError::internal)
        })
        .await?;
        let Some(role) = role else {
            web.sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .close(&id);
            return Err(unauthorized());
        };
        Ok(Caller {
            who: user,
            role,
            via: "http",
            address,
            csrf: Some(csrf),
            session: Some(id),
        })
    }
}

/// Writes one audit row off the async threads; a failure is logged, never fatal.
pub fn audit(web: &Web, e: AuditEntry) {
    let access = web.access.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(err) = access.lock().unwrap_or_else(|e| e.into_inner()).record(&e) {
            tracing::error!("audit trail: {err}");
        }
    });
}

/// What a login answers: the account and the CSRF token the console sends back.
pub struct LoggedIn {
    pub user: String,
    pub role: Role,
    pub csrf: String,
    pub cookie: String,
}

/// Checks a login against the limits and the accounts; opens a session.
pub async fn login(
    web: &Web,
    address: String,
    user: String,
    password: String,
) -> Result<LoggedIn, ApiError> {
    let now = Instant::now();
    let (ukey, akey) = (format!("u:{user}"), format!("a:{address}"));
    let limited = {
        let mut s = web.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let a = s.by_address.check(&akey, now);
        let u = s.by_user.check(&ukey, now);
        a.and(u).err()
    };
    let entry = |outcome: &str| AuditEntry {
        at: chrono::Utc::now(),
        who: user.clone(),
        via: "http".into(),
        address: Some(address.clone()),
        action: "login".into(),
        target: None,
        outcome: outcome.into(),
    };
    if let Some(wait) = limited {
        audit(web, entry("rate_limited"));
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "too many failed logins; try again in {} minutes",
                wait.as_secs().div_ceil(60)
            ),
        );
        e.retry_after = Some(wait.as_secs().max(1));
        return Err(e);
    }
    let access = web.access.clone();
    let (u, p) = (user.clone(), password);
    let found = blocking(move || {
        access
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .login(&u, &p)
            .map_err(ApiError::internal)
    })
    .await?;
    let mut s = web.sessions.lock().unwrap_or_else(|e| e.into_inner());
    match found {
        None => {
            s.by_user.fail(&ukey, now);
            s.by_address.fail(&akey, now);
            drop(s);
            audit(web, entry("wrong_password"));
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "wrong user name or password",
            ))
        }
        Some(acc) => {
            s.by_user.succeed(&ukey);
            let (id, csrf) = s.open(&acc.name, now);
            let max_age = s.idle.as_secs();
            drop(s);
            audit(web, entry("ok"));
            Ok(LoggedIn {
                user: acc.name,
                role: acc.role,
                csrf,
                cookie: format!(
                    "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}"
                ),
            })
        }
    }
}

/// Ends the caller's session; the cookie is cleared.
pub fn logout(web: &Web, caller: &Caller) -> String {
    if let Some(id) = &caller.session {
        web.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .close(id);
    }
    format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle_and_close() {
        let mut s = Sessions::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let (id, csrf) = s.open("lan", t0);
        assert_ne!(id, csrf);
        assert_eq!(s.touch(&id, t0 + Duration::from_secs(59)).unwrap().0, "lan");
        // Touching refreshed it: 59 s after the last use is still in time.
        assert!(s.touch(&id, t0 + Duration::from_secs(118)).is_some());
        assert!(s.touch(&id, t0 + Duration::from_secs(178)).is_none());
        let (id2, _) = s.open("lan", t0);
        s.close(&id2);
        assert!(s.touch(&id2, t0).is_none());
        assert!(s.touch("doan-bua", t0).is_none());
    }

    #[test]
    fn csrf_comparison_is_exact() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(!same("", "a"));
    }
}
